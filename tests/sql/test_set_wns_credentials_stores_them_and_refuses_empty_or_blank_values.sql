-- Behaviour: hd_set_wns_credentials stores an app's WNS client id (Package SID) and
-- client secret in its 'wns' row; it refuses, with SQLSTATE 45000, an empty, NULL or
-- blank-containing client id or secret and an unknown app uid, keeping what was
-- stored; the refusal about the secret never repeats the secret.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_err TEXT;
  DECLARE v_i INT DEFAULT 1;
  DECLARE v_want TEXT;
  DECLARE v_sid VARCHAR(100) DEFAULT 'ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579-3987825745-2155616079-650196962';

  CALL hd_create_tenant(CONCAT('test-wns-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-wns-', v_sfx), v_a, v_app_uid);

  CALL hd_set_wns_credentials(v_app_uid, v_sid, 'Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7');
  IF NOT COALESCE((SELECT client_id = v_sid AND client_secret = 'Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7'
                          AND private_key_pem IS NULL AND apns_auth IS NULL
                     FROM app_credentials WHERE app_id = v_a AND provider = 'wns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_wns_credentials did not store the client id and secret';
  END IF;

  WHILE v_i <= 6 DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CASE v_i
        WHEN 1 THEN CALL hd_set_wns_credentials(v_app_uid, '', 'new-secret');
        WHEN 2 THEN CALL hd_set_wns_credentials(v_app_uid, NULL, 'new-secret');
        WHEN 3 THEN CALL hd_set_wns_credentials(v_app_uid, 'ms-app://s-1 15', 'new-secret');
        WHEN 4 THEN CALL hd_set_wns_credentials(v_app_uid, v_sid, '');
        WHEN 5 THEN CALL hd_set_wns_credentials(v_app_uid, v_sid, 'new secret\n');
        ELSE CALL hd_set_wns_credentials('no-such-app', v_sid, 'new-secret');
      END CASE;
    END;
    SET v_want = ELT(v_i,
      'hd_set_wns_credentials: bad client id '''' (want the Package SID, ms-app://...)',
      'hd_set_wns_credentials: bad client id ''NULL''%',
      'hd_set_wns_credentials: bad client id ''ms-app://s-1 15''%',
      'hd_set_wns_credentials: the client secret must not be empty or contain blanks',
      'hd_set_wns_credentials: the client secret must not be empty or contain blanks',
      'hd_set_wns_credentials: unknown app ''no-such-app''');
    IF NOT COALESCE(v_err LIKE v_want, FALSE) THEN
      SET v_err = CONCAT('case ', v_i, ': got ', IFNULL(v_err, 'no error'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_err;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF NOT COALESCE((SELECT client_secret = 'Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7'
                     FROM app_credentials WHERE app_id = v_a AND provider = 'wns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_wns_credentials changed the stored credentials';
  END IF;
END //
DELIMITER ;
