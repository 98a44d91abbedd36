-- Behaviour: hd_create_tenant refuses a NULL, empty or blank name with SQLSTATE
-- 45000 and stores nothing.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_err TEXT;
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad JSON DEFAULT '[null, "", "   "]';

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_create_tenant(JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')), v_t);
    END;
    IF NOT COALESCE(v_err = 'hd_create_tenant: name must not be empty', FALSE) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_tenant accepted an empty name';
    END IF;
    SET v_i = v_i + 1;
  END WHILE;
  IF (SELECT COUNT(*) FROM tenants WHERE name IN ('', '   ')) > 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a tenant with an empty name was stored';
  END IF;
END //
DELIMITER ;
