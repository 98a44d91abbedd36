-- Behaviour: hd_set_fcm_service_account refuses, with SQLSTATE 45000 and a message
-- naming the problem, a file that is not a JSON object, a type other than
-- service_account (an OAuth client file, say), a missing or malformed project_id or
-- client_email, a missing private_key or one that is not PEM, a token_uri that is
-- missing or not https, and an unknown app uid; nothing is stored.
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
  DECLARE v_json TEXT;
  DECLARE v_bad TEXT;

  CALL hd_create_tenant(CONCAT('test-fcm-misuse-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-fcm-misuse-', v_sfx), v_a, v_app_uid);
  SET v_json = JSON_OBJECT('type', 'service_account', 'project_id', 'demo-project-1',
                           'private_key', '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n',
                           'client_email', 'herald@demo-project-1.iam.gserviceaccount.com',
                           'token_uri', 'https://oauth2.googleapis.com/token');

  WHILE v_i <= 12 DO
    SET v_bad = CASE v_i
                  WHEN 1 THEN 'not json'
                  WHEN 2 THEN '["service_account"]'
                  WHEN 3 THEN JSON_SET(v_json, '$.type', 'authorized_user')
                  WHEN 4 THEN JSON_REMOVE(v_json, '$.type')
                  WHEN 5 THEN JSON_REMOVE(v_json, '$.project_id')
                  WHEN 6 THEN JSON_SET(v_json, '$.project_id', 'demo/project')
                  WHEN 7 THEN JSON_REMOVE(v_json, '$.client_email')
                  WHEN 8 THEN JSON_SET(v_json, '$.client_email', 'herald')
                  WHEN 9 THEN JSON_REMOVE(v_json, '$.private_key')
                  WHEN 10 THEN JSON_SET(v_json, '$.private_key', 'MIGHAgEAMBMGByqGSM49')
                  WHEN 11 THEN JSON_SET(v_json, '$.token_uri', 'http://oauth2.googleapis.com/token')
                  ELSE JSON_REMOVE(v_json, '$.token_uri')
                END;
    SET v_err = NULL;
    BEGIN
      DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
      CALL hd_set_fcm_service_account(v_app_uid, v_bad);
    END;
    SET v_want = ELT(v_i,
      'hd_set_fcm_service_account: not a JSON object%',
      'hd_set_fcm_service_account: not a JSON object%',
      'hd_set_fcm_service_account: type is ''authorized_user'', not ''service_account''',
      'hd_set_fcm_service_account: type is ''missing'', not ''service_account''',
      'hd_set_fcm_service_account: project_id is missing or malformed: ''''',
      'hd_set_fcm_service_account: project_id is missing or malformed: ''demo/project''',
      'hd_set_fcm_service_account: client_email is missing or malformed',
      'hd_set_fcm_service_account: client_email is missing or malformed',
      'hd_set_fcm_service_account: private_key is missing or not a PEM private key',
      'hd_set_fcm_service_account: private_key is missing or not a PEM private key',
      'hd_set_fcm_service_account: token_uri is missing or not an https URL',
      'hd_set_fcm_service_account: token_uri is missing or not an https URL');
    IF NOT COALESCE(v_err LIKE v_want, FALSE) THEN
      SET v_err = CONCAT('case ', v_i, ': got ', IFNULL(v_err, 'no error'));
      SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_err;
    END IF;
    SET v_i = v_i + 1;
  END WHILE;

  SET v_err = NULL;
  BEGIN
    DECLARE EXIT HANDLER FOR SQLSTATE '45000' GET DIAGNOSTICS CONDITION 1 v_err = MESSAGE_TEXT;
    CALL hd_set_fcm_service_account('no-such-app', v_json);
  END;
  IF NOT COALESCE(v_err = 'hd_set_fcm_service_account: unknown app ''no-such-app''', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_fcm_service_account accepted an unknown app';
  END IF;

  IF EXISTS (SELECT 1 FROM app_credentials WHERE app_id = v_a) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a refused hd_set_fcm_service_account stored credentials';
  END IF;
END //
DELIMITER ;
