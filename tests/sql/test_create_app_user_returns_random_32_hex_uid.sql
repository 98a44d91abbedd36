-- Behaviour: hd_create_app_user creates a user of the app with its external id and
-- email and returns a uid of 32 lowercase hex characters, different per user.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_u1 CHAR(32);
  DECLARE v_u2 CHAR(32);

  CALL hd_create_tenant(CONCAT('test-app-user-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-app-user-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app_user(v_a, 'user-1', 'one@example.com', v_u1);
  CALL hd_create_app_user(v_a, 'User-1', NULL, v_u2);

  IF NOT COALESCE(CAST(v_u1 AS BINARY) REGEXP '^[0-9a-f]{32}$', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'user uid is not 32 lowercase hex characters';
  END IF;
  IF NOT COALESCE((SELECT app_id = v_a AND external_id = 'user-1' AND email = 'one@example.com'
                     FROM app_users WHERE uid = v_u1), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'app user row does not match the call';
  END IF;
  -- External ids are case-sensitive: 'User-1' is another user.
  IF NOT COALESCE(v_u2 <> v_u1 AND (SELECT email IS NULL FROM app_users WHERE uid = v_u2), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a second external id did not make a second user';
  END IF;
END //
DELIMITER ;
