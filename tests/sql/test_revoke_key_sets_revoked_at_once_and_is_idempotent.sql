-- Behaviour: hd_revoke_key marks the key revoked (revoked_at set, hd_keys.active 0),
-- so the lookup the C code does (hash match and revoked_at IS NULL) no longer finds
-- it; revoking again keeps the first revocation time; other keys stay active.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);
  DECLARE v_other BIGINT UNSIGNED;
  DECLARE v_other_p VARCHAR(100);
  DECLARE v_first DATETIME(6);

  CALL hd_create_tenant(CONCAT('test-revoke-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-revoke-', v_sfx), v_a, v_app_uid);
  CALL hd_issue_key('server', v_t, v_a, 'to revoke', v_k, v_p);
  CALL hd_issue_key('server', v_t, v_a, 'to keep', v_other, v_other_p);

  IF NOT COALESCE((SELECT COUNT(*) FROM api_keys
                    WHERE key_hash = UNHEX(SHA2(v_p, 256)) AND revoked_at IS NULL) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'new key is not active';
  END IF;

  CALL hd_revoke_key(v_k);
  SET v_first = (SELECT revoked_at FROM api_keys WHERE id = v_k);
  IF v_first IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_revoke_key did not set revoked_at';
  END IF;
  IF (SELECT COUNT(*) FROM api_keys
       WHERE key_hash = UNHEX(SHA2(v_p, 256)) AND revoked_at IS NULL) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'revoked key is still found by the active-key lookup';
  END IF;
  IF NOT COALESCE((SELECT active = 0 AND revoked_at = v_first FROM hd_keys WHERE id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys does not show the key as revoked';
  END IF;

  DO SLEEP(0.01);
  CALL hd_revoke_key(v_k);
  IF NOT COALESCE((SELECT revoked_at FROM api_keys WHERE id = v_k) = v_first, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'revoking again changed revoked_at';
  END IF;
  IF NOT COALESCE((SELECT revoked_at IS NULL FROM api_keys WHERE id = v_other), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'revoking one key revoked another';
  END IF;
END //
DELIMITER ;
