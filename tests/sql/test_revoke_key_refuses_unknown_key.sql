-- Behaviour: hd_revoke_key refuses a NULL or unknown key id with SQLSTATE 45000.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_err TEXT;
  DECLARE v_missing_k BIGINT UNSIGNED DEFAULT (SELECT COALESCE(MAX(id), 0) + 1000000 FROM api_keys);

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_revoke_key(v_missing_k);
  END;
  IF NOT COALESCE(v_err = CONCAT('hd_revoke_key: unknown key ', v_missing_k), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_revoke_key accepted an unknown key';
  END IF;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_revoke_key(NULL);
  END;
  IF NOT COALESCE(v_err = 'hd_revoke_key: key id is required', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_revoke_key accepted a NULL key id';
  END IF;
END //
DELIMITER ;
