-- Behaviour: hd_issue_bearer_key issues a bearer key ('hd_bt_...') for the app user
-- with the given external id: the row carries the app's tenant, the app and that
-- user, and hd_keys shows the user's uid and external id.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_user_uid CHAR(32);
  DECLARE v_other_uid CHAR(32);
  DECLARE v_k BIGINT UNSIGNED;
  DECLARE v_p VARCHAR(100);

  CALL hd_create_tenant(CONCAT('test-bearer-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-bearer-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'reader', 'reader@example.com', v_user_uid);
  CALL hd_create_app_user(v_a, 'someone-else', NULL, v_other_uid);

  CALL hd_issue_bearer_key(v_a, 'reader', 'inbox of reader', v_k, v_p);
  IF NOT COALESCE(CAST(v_p AS BINARY) REGEXP '^hd_bt_[0-9a-f]{48}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bearer plaintext is not hd_bt_ + 48 hex';
  END IF;
  IF NOT COALESCE((SELECT k.kind = 'bearer' AND k.tenant_id = v_t AND k.app_id = v_a
                          AND u.uid = v_user_uid AND k.key_hash = UNHEX(SHA2(v_p, 256))
                     FROM api_keys k JOIN app_users u ON u.id = k.app_user_id
                    WHERE k.id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'bearer key is not bound to the named app user';
  END IF;
  IF NOT COALESCE((SELECT app_user_uid = v_user_uid AND app_user_external_id = 'reader'
                          AND app_uid = v_app_uid AND active = 1
                     FROM hd_keys WHERE id = v_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_keys does not show the bearer key''s user';
  END IF;
END //
DELIMITER ;
