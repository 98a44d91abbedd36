-- Behaviour: hd_share_provider_token keeps one token per team, key id and key
-- fingerprint. Two keys under the same team and key id (an app given the wrong .p8, or
-- one just replaced) each get their own token: offering a token for the second key
-- stores it even while the first key's token is young, returns it, and leaves the
-- first key's token as it was; refreshing one never touches the other.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_team CHAR(10) DEFAULT UPPER(LEFT(HEX(RANDOM_BYTES(5)), 10));
  DECLARE v_fp_a CHAR(64) DEFAULT SHA2('the first key', 256);
  DECLARE v_fp_b CHAR(64) DEFAULT SHA2('the second key', 256);
  DECLARE v_t0 DATETIME(6) DEFAULT '2026-01-01 10:00:00';

  CALL hd_share_provider_token(v_team, 'KEY1', v_fp_a, 'jwt-a', v_t0, 3000);
  -- One second later, far inside the 50 minutes that would keep a token of the same key.
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp_b, 'jwt-b', v_t0 + INTERVAL 1 SECOND, 3000);
  IF NOT COALESCE((SELECT token = 'jwt-b' AND issued_at = v_t0 + INTERVAL 1 SECOND FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1' AND key_fingerprint = v_fp_b), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the second key did not get its own token';
  END IF;
  IF NOT COALESCE((SELECT token = 'jwt-a' AND issued_at = v_t0 FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1' AND key_fingerprint = v_fp_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the second key''s token replaced the first key''s';
  END IF;

  -- Each key keeps its own young token and refreshes it on its own.
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp_a, 'jwt-a-young', v_t0 + INTERVAL 10 MINUTE, 3000);
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp_b, 'jwt-b-after-refusal', v_t0 + INTERVAL 21 MINUTE, 1200);
  IF NOT COALESCE((SELECT GROUP_CONCAT(token ORDER BY token) FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1') = 'jwt-a,jwt-b-after-refusal', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the keys'' tokens were not kept and refreshed each on its own';
  END IF;
END //
DELIMITER ;
