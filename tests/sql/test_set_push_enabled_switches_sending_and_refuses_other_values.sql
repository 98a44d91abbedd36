-- Behaviour: hd_set_push_enabled stores 0 and 1 and refuses any other value, NULL
-- and an unknown app with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_missing_a BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM apps);
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad JSON DEFAULT '[2, -1, 127, null]';

  CALL hd_create_tenant(CONCAT('test-push-enabled-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-push-enabled-', v_sfx), v_a, v_app_uid);

  CALL hd_set_push_enabled(v_a, 0);
  IF NOT COALESCE((SELECT push_enabled FROM apps WHERE id = v_a) = 0, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_push_enabled(0) did not switch sending off';
  END IF;
  CALL hd_set_push_enabled(v_a, 1);
  IF NOT COALESCE((SELECT push_enabled FROM apps WHERE id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_push_enabled(1) did not switch sending on';
  END IF;

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_set_push_enabled(v_a, JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')));
    END;
    IF NOT COALESCE(v_err LIKE 'hd_set_push_enabled: enabled must be 0 or 1, not %', FALSE) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_push_enabled accepted a value other than 0 or 1';
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_push_enabled(v_missing_a, 1);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_set_push_enabled: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_push_enabled accepted an unknown app';
  END IF;

  IF NOT COALESCE((SELECT push_enabled FROM apps WHERE id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_push_enabled changed the switch';
  END IF;
END //
DELIMITER ;
