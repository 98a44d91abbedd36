-- Behaviour: hd_purge refuses an age that is NULL or outside 1..36500 days, and a call
-- from inside an open transaction (it commits batch by batch), with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_err TEXT;
  DECLARE v_i INT DEFAULT 0;
  DECLARE v_bad JSON DEFAULT '[0, -1, 36501, null]';

  WHILE v_i < JSON_LENGTH(v_bad) DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_purge(JSON_VALUE(v_bad, CONCAT('$[', v_i, ']')));
    END;
    IF NOT COALESCE(v_err LIKE 'hd_purge: age must be 1..36500 days, not %', FALSE) THEN
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge accepted a bad age';
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  START TRANSACTION;
  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_purge(30);
  END;
  ROLLBACK;
  IF NOT COALESCE(v_err LIKE 'hd_purge: call it outside a transaction%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_purge ran inside an open transaction';
  END IF;
END //
DELIMITER ;
