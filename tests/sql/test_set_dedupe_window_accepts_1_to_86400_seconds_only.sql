-- Behaviour: hd_set_dedupe_window stores windows from 1 to 86400 seconds and refuses
-- 0, 86401, NULL and an unknown app with SQLSTATE 45000, leaving the window as it was.
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
  DECLARE v_bad JSON DEFAULT '[0, 86401, 4294967295, null]';
  DECLARE v_why VARCHAR(200);

  CALL hd_create_tenant(CONCAT('test-dedupe-window-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-dedupe-window-', v_sfx), v_a, v_app_uid);

  CALL hd_set_dedupe_window(v_a, 1);
  IF NOT COALESCE((SELECT dedupe_window_s FROM apps WHERE id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'window of 1 s not stored';
  END IF;
  CALL hd_set_dedupe_window(v_a, 86400);
  IF NOT COALESCE((SELECT dedupe_window_s FROM apps WHERE id = v_a) = 86400, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'window of 86400 s not stored';
  END IF;
  CALL hd_set_dedupe_window(v_a, 300);

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_set_dedupe_window(v_a, JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')));
    END;
    IF NOT COALESCE(v_err LIKE 'hd_set_dedupe_window: window must be 1..86400 seconds, not %', FALSE) THEN
      SET v_why = CONCAT('hd_set_dedupe_window accepted ', IFNULL(JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')), 'NULL'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_why;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_dedupe_window(v_missing_a, 60);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_set_dedupe_window: unknown app ', v_missing_a), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_dedupe_window accepted an unknown app';
  END IF;

  IF NOT COALESCE((SELECT dedupe_window_s FROM apps WHERE id = v_a) = 300, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_dedupe_window changed the window';
  END IF;
END //
DELIMITER ;
