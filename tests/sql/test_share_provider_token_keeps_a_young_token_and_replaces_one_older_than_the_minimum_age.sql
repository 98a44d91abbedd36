-- Behaviour: hd_share_provider_token stores the first candidate for a (team, key);
-- a later candidate replaces the stored token only when the stored one was issued
-- at least p_min_age_s before the candidate (exactly that age counts): with the
-- normal 3000 s a token 40 minutes old is kept, while the 1200 s used after
-- ExpiredProviderToken replaces it; a candidate issued before the stored token
-- never replaces it; other (team, key) pairs are not touched.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_team VARCHAR(16) DEFAULT UPPER(LEFT(HEX(RANDOM_BYTES(5)), 10));
  DECLARE v_fp CHAR(64) DEFAULT SHA2('the signing key', 256);
  DECLARE v_t0 DATETIME(6) DEFAULT '2026-01-01 10:00:00';

  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-first', v_t0, 3000);
  IF NOT COALESCE((SELECT token = 'jwt-first' AND issued_at = v_t0 FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the first candidate was not stored';
  END IF;

  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-40-min-later', v_t0 + INTERVAL 40 MINUTE, 3000);
  IF NOT COALESCE((SELECT token = 'jwt-first' AND issued_at = v_t0 FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a token younger than the minimum age was replaced';
  END IF;

  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-older', v_t0 - INTERVAL 2 HOUR, 0);
  IF NOT COALESCE((SELECT token = 'jwt-first' FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a candidate issued before the stored token replaced it';
  END IF;

  CALL hd_share_provider_token(v_team, 'KEY2', v_fp, 'jwt-other-key', v_t0 + INTERVAL 1 MINUTE, 3000);
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-after-expired', v_t0 + INTERVAL 40 MINUTE, 1200);
  IF NOT COALESCE((SELECT token = 'jwt-after-expired' AND issued_at = v_t0 + INTERVAL 40 MINUTE
                     FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a token older than the minimum age of 1200 s was not replaced';
  END IF;
  IF NOT COALESCE((SELECT token = 'jwt-other-key' FROM provider_tokens
                    WHERE issuer = v_team AND key_id = 'KEY2'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a token of another key was touched';
  END IF;

  -- Exactly the minimum age old: replaced.
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-exactly-50-min', v_t0 + INTERVAL 90 MINUTE, 3000);
  IF NOT COALESCE((SELECT token = 'jwt-exactly-50-min' AND issued_at = v_t0 + INTERVAL 90 MINUTE
                     FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a token exactly the minimum age old was not replaced';
  END IF;
  -- One microsecond short of it: kept.
  CALL hd_share_provider_token(v_team, 'KEY1', v_fp, 'jwt-too-soon',
                               v_t0 + INTERVAL 140 MINUTE - INTERVAL 1 MICROSECOND, 3000);
  IF NOT COALESCE((SELECT token = 'jwt-exactly-50-min' AND issued_at = v_t0 + INTERVAL 90 MINUTE
                     FROM provider_tokens WHERE issuer = v_team AND key_id = 'KEY1'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a token just under the minimum age was replaced';
  END IF;
END //
DELIMITER ;
