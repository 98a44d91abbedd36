-- Behaviour: hd_create_tenant inserts one tenant with the given name (blanks
-- trimmed) and returns its new id; each call makes a distinct tenant.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_name VARCHAR(200) DEFAULT CONCAT('test-tenant-', LOWER(HEX(RANDOM_BYTES(6))));
  DECLARE v_t1 BIGINT UNSIGNED;
  DECLARE v_t2 BIGINT UNSIGNED;

  CALL hd_create_tenant(CONCAT('  ', v_name, '  '), v_t1);
  IF NOT COALESCE(v_t1 IS NOT NULL, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_create_tenant returned no id';
  END IF;
  IF NOT COALESCE((SELECT name FROM tenants WHERE id = v_t1) = v_name, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'tenant row missing or name not trimmed';
  END IF;

  CALL hd_create_tenant(CONCAT(v_name, '-2'), v_t2);
  IF NOT COALESCE(v_t2 <> v_t1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'second tenant did not get a new id';
  END IF;
END //
DELIMITER ;
