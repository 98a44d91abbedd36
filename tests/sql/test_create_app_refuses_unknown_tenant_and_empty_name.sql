-- Behaviour: hd_create_app refuses a NULL or unknown tenant and an empty name with
-- SQLSTATE 45000 and a message naming the problem; nothing is stored.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_uid CHAR(36);
  DECLARE v_missing BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM tenants);

  CALL hd_create_tenant(CONCAT('test-create-app-misuse-', v_sfx), v_t);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app(v_missing, CONCAT('test-create-app-misuse-', v_sfx), v_a, v_uid);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_create_app: unknown tenant ', v_missing), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app accepted an unknown tenant';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app(NULL, CONCAT('test-create-app-misuse-', v_sfx), v_a, v_uid);
  END;
  IF NOT COALESCE(v_err = 'hd_create_app: tenant id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app accepted a NULL tenant';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_create_app(v_t, ' ', v_a, v_uid);
  END;
  IF NOT COALESCE(v_err = 'hd_create_app: name must not be empty', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_app accepted an empty name';
  END IF;

  IF (SELECT COUNT(*) FROM apps WHERE tenant_id IN (v_t, v_missing)) <> 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_create_app stored an app';
  END IF;
END //
DELIMITER ;
