-- Behaviour: hd_set_apns_token_auth refuses, with SQLSTATE 45000 and a message naming
-- the problem, a team id or key id that is not 10 uppercase letters or digits, a key
-- that is not an unencrypted PEM private key (a certificate, an encrypted key, junk),
-- a topic that is not a bundle id, a sandbox flag other than 0 or 1, and an unknown
-- or NULL app uid; credentials already stored stay as they were.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_err TEXT;
  DECLARE v_i INT DEFAULT 1;
  DECLARE v_key TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----';
  DECLARE v_encrypted TEXT DEFAULT '-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiJ4lmyFoZ1ZAICCAAw
-----END ENCRYPTED PRIVATE KEY-----';
  DECLARE v_cert TEXT DEFAULT '-----BEGIN CERTIFICATE-----
MIIBsjCCAVmgAwIBAgIUJjRylO6C2QYH0kjTgmFNp5s0d0AwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----';
  DECLARE v_want TEXT;

  CALL hd_create_tenant(CONCAT('test-apns-token-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-apns-token-misuse-', v_sfx), v_a, v_app_uid);
  CALL hd_set_apns_token_auth(v_app_uid, 'TEAM000001', 'KEY0000001', v_key, 'com.example.app', 1);

  WHILE v_i <= 13 DO
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CASE v_i
        WHEN 1 THEN CALL hd_set_apns_token_auth(v_app_uid, 'abcde12345', 'KEY0000002', v_key, 'com.example.app', 0);
        WHEN 2 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE1234', 'KEY0000002', v_key, 'com.example.app', 0);
        WHEN 3 THEN CALL hd_set_apns_token_auth(v_app_uid, NULL, 'KEY0000002', v_key, 'com.example.app', 0);
        WHEN 4 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY-000002', v_key, 'com.example.app', 0);
        WHEN 5 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY00000022', v_key, 'com.example.app', 0);
        WHEN 6 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', v_cert, 'com.example.app', 0);
        WHEN 7 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', v_encrypted, 'com.example.app', 0);
        WHEN 8 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', 'MIGHAgEAMBMGByqGSM49', 'com.example.app', 0);
        WHEN 9 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', v_key, 'com.example.app/x', 0);
        WHEN 10 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', v_key, '', 0);
        WHEN 11 THEN CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY0000002', v_key, 'com.example.app', 2);
        WHEN 12 THEN CALL hd_set_apns_token_auth('00000000-0000-4000-8000-000000000000', 'ABCDE12345', 'KEY0000002', v_key, 'com.example.app', 0);
        ELSE CALL hd_set_apns_token_auth(NULL, 'ABCDE12345', 'KEY0000002', v_key, 'com.example.app', 0);
      END CASE;
    END;
    SET v_want = ELT(v_i,
      'hd_set_apns_token_auth: bad team id ''abcde12345'' (want 10 uppercase letters or digits)',
      'hd_set_apns_token_auth: bad team id ''ABCDE1234'' (want 10 uppercase letters or digits)',
      'hd_set_apns_token_auth: bad team id ''NULL'' (want 10 uppercase letters or digits)',
      'hd_set_apns_token_auth: bad key id ''KEY-000002'' (want 10 uppercase letters or digits)',
      'hd_set_apns_token_auth: bad key id ''KEY00000022'' (want 10 uppercase letters or digits)',
      'hd_set_apns_token_auth: the key is not an unencrypted PEM private key%',
      'hd_set_apns_token_auth: the key is not an unencrypted PEM private key%',
      'hd_set_apns_token_auth: the key is not an unencrypted PEM private key%',
      'hd_set_apns_token_auth: bad topic ''com.example.app/x'' (want the app''s bundle id, e.g. com.example.app)',
      'hd_set_apns_token_auth: bad topic '''' (want the app''s bundle id, e.g. com.example.app)',
      'hd_set_apns_token_auth: sandbox must be 0 or 1, not 2',
      'hd_set_apns_token_auth: unknown app ''00000000-0000-4000-8000-000000000000''',
      'hd_set_apns_token_auth: app uid is required');
    IF NOT COALESCE(v_err LIKE v_want, FALSE) THEN
      SET v_err = CONCAT('case ', v_i, ': got ', IFNULL(v_err, 'no error'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_err;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  IF NOT COALESCE((SELECT team_id = 'TEAM000001' AND key_id = 'KEY0000001' AND sandbox = 1
                     FROM app_credentials WHERE app_id = v_a AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_apns_token_auth changed the stored credentials';
  END IF;
END //
DELIMITER ;
