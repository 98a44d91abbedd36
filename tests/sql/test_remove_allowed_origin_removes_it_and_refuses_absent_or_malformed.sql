-- Behaviour: hd_remove_allowed_origin removes the origin (given in any case, or with
-- its default port) from that app only; an origin the app does not allow and a
-- malformed origin are refused with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_b BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);

  CALL hd_create_tenant(CONCAT('test-origins-rm-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-origins-rm-a-', v_sfx), v_a, v_app_uid);
  CALL hd_create_app(v_t, CONCAT('test-origins-rm-b-', v_sfx), v_b, v_app_uid);
  CALL hd_add_allowed_origin(v_a, 'https://app.example.com');
  CALL hd_add_allowed_origin(v_a, 'https://admin.example.com');
  CALL hd_add_allowed_origin(v_b, 'https://app.example.com');

  CALL hd_remove_allowed_origin(v_a, 'HTTPS://App.Example.com:443');
  IF EXISTS (SELECT 1 FROM app_origins WHERE app_id = v_a AND origin = 'https://app.example.com') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_allowed_origin did not remove the origin';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM app_origins WHERE app_id = v_a AND origin = 'https://admin.example.com')
     OR NOT EXISTS (SELECT 1 FROM app_origins WHERE app_id = v_b AND origin = 'https://app.example.com') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_allowed_origin removed another origin or another app''s origin';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_allowed_origin(v_a, 'https://app.example.com');
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_remove_allowed_origin: origin ''https://app.example.com'' is not allowed for app ', v_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'removing an origin the app does not allow was not refused';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_remove_allowed_origin(v_a, 'https://admin.example.com/');
  END;
  IF NOT COALESCE(v_err LIKE 'hd_remove_allowed_origin: bad origin %', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_allowed_origin accepted a malformed origin';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM app_origins WHERE app_id = v_a AND origin = 'https://admin.example.com') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused removal removed an origin';
  END IF;
END //
DELIMITER ;
