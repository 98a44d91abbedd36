-- Behaviour: hd_create_app_user with an external id the app already has returns the
-- existing uid and updates the email (NULL keeps it, '' clears it); it never makes a
-- second user. The same external id in another app is another user.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_u1 CHAR(32);
  DECLARE v_u2 CHAR(32);
  DECLARE v_other CHAR(32);

  CALL hd_create_tenant(CONCAT('test-app-user-upsert-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-app-user-upsert-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-app-user-upsert-b-', v_sfx), v_b, v_app_uid);

  CALL hd_create_app_user(v_a, 'ext-42', 'old@example.com', v_u1);
  CALL hd_create_app_user(v_a, 'ext-42', 'new@example.com', v_u2);
  IF NOT COALESCE(v_u2 = v_u1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'existing external id got a new uid';
  END IF;
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MAX(email) = 'new@example.com'
                     FROM app_users WHERE app_id = v_a AND external_id = 'ext-42'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'email not updated, or a second user row was made';
  END IF;

  CALL hd_create_app_user(v_a, 'ext-42', NULL, v_u2);
  IF NOT COALESCE(v_u2 = v_u1 AND (SELECT email FROM app_users WHERE uid = v_u1) = 'new@example.com', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a NULL email changed the stored email';
  END IF;

  CALL hd_create_app_user(v_a, 'ext-42', '', v_u2);
  IF NOT COALESCE(v_u2 = v_u1 AND (SELECT email IS NULL FROM app_users WHERE uid = v_u1), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'an empty email did not clear the stored email';
  END IF;

  CALL hd_create_app_user(v_b, 'ext-42', 'b@example.com', v_other);
  IF NOT COALESCE(v_other <> v_u1
                  AND (SELECT app_id FROM app_users WHERE uid = v_other) = v_b
                  AND (SELECT email FROM app_users WHERE uid = v_u1) IS NULL, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'same external id in another app did not make a separate user';
  END IF;
END //
DELIMITER ;
