-- Behaviour: hd_set_fcm_service_account reads the downloaded service-account key file
-- (JSON, the private key's line breaks escaped as \n) and stores its project_id,
-- client_email, private_key (as a PEM with real line breaks) and token_uri in the
-- app's 'fcm' row, and nothing else of the file; calling it again replaces them.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_key TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----
';
  DECLARE v_json TEXT;

  CALL hd_create_tenant(CONCAT('test-fcm-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-fcm-', v_sfx), v_a, v_app_uid);
  -- As Google writes the file (JSON_OBJECT escapes the key's line breaks as \n).
  SET v_json = JSON_OBJECT('type', 'service_account', 'project_id', 'demo-project-1',
                           'private_key_id', '0123456789abcdef', 'private_key', v_key,
                           'client_email', 'herald@demo-project-1.iam.gserviceaccount.com',
                           'client_id', '100000000000000000001',
                           'auth_uri', 'https://accounts.google.com/o/oauth2/auth',
                           'token_uri', 'https://oauth2.googleapis.com/token');
  IF NOT COALESCE(v_json LIKE '%-----BEGIN PRIVATE KEY-----\\\\nMIGH%', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test set-up: the key file does not escape line breaks';
  END IF;

  CALL hd_set_fcm_service_account(v_app_uid, v_json);
  IF NOT COALESCE((SELECT project_id = 'demo-project-1'
                          AND client_email = 'herald@demo-project-1.iam.gserviceaccount.com'
                          AND private_key_pem = TRIM(TRAILING '\n' FROM v_key)
                          AND token_uri = 'https://oauth2.googleapis.com/token'
                          AND apns_auth IS NULL AND team_id IS NULL AND key_id IS NULL
                          AND certificate_pem IS NULL AND topic IS NULL AND subject IS NULL
                          AND client_id IS NULL AND client_secret IS NULL
                     FROM app_credentials WHERE app_id = v_a AND provider = 'fcm'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_fcm_service_account did not store the key file''s fields';
  END IF;

  CALL hd_set_fcm_service_account(v_app_uid, JSON_SET(v_json, '$.project_id', 'demo-project-2',
                                                      '$.client_email', 'other@demo-project-2.iam.gserviceaccount.com'));
  IF NOT COALESCE((SELECT COUNT(*) = 1 AND MAX(project_id) = 'demo-project-2'
                          AND MAX(client_email) = 'other@demo-project-2.iam.gserviceaccount.com'
                     FROM app_credentials WHERE app_id = v_a AND provider = 'fcm'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a second hd_set_fcm_service_account did not replace the first';
  END IF;
END //
DELIMITER ;
