-- Behaviour: hd_credentials lists every provider an app has credentials for with the
-- public fields only: it has no column for private keys, certificates or client
-- secrets, and no value in it contains a stored key, certificate or secret, for any
-- of the four providers.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_columns TEXT;
  DECLARE v_values TEXT;
  DECLARE v_key TEXT DEFAULT '-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC5vT4b+/o2opCPekXuryVa0H+xPjcLXrIRP9sC1csFFoAoGCCqGSM49
AwEHoUQDQgAEl01sTKHzcebp/79kA63CYgeh5NNlrf6fY6Z8z9OofFXSJRTFfMUL
mkBcFKhWhBYW5diKYo5JXWMM3ahd3lSppg==
-----END EC PRIVATE KEY-----';
  DECLARE v_cert TEXT DEFAULT '-----BEGIN CERTIFICATE-----
MIIBsjCCAVmgAwIBAgIUJjRylO6C2QYH0kjTgmFNp5s0d0AwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----';

  CALL hd_create_tenant(CONCAT('test-credentials-view-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-credentials-view-', v_sfx), v_a, v_app_uid);
  CALL hd_set_apns_certificate_auth(v_app_uid, v_cert, v_key, 'com.example.app', 0);
  CALL hd_set_fcm_service_account(v_app_uid, JSON_OBJECT(
         'type', 'service_account', 'project_id', 'demo-project', 'private_key', v_key,
         'client_email', 'herald@demo-project.iam.gserviceaccount.com',
         'token_uri', 'https://oauth2.googleapis.com/token'));
  CALL hd_set_vapid_key(v_app_uid, 'mailto:ops@example.com', v_key);
  CALL hd_set_wns_credentials(v_app_uid, 'ms-app://s-1-15-2-1', 'wns-client-secret-8d1f');

  SET v_columns = (SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION)
                     FROM information_schema.COLUMNS
                    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'hd_credentials');
  IF NOT COALESCE(v_columns = 'tenant_id,app_id,app_uid,app_name,provider,apns_auth,team_id,key_id,topic,sandbox,project_id,client_email,token_uri,subject,client_id,has_private_key,has_certificate,updated_at,sealed_with', FALSE) THEN
    SET v_columns = CONCAT('hd_credentials has columns ', IFNULL(v_columns, 'none'));
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_columns;
  END IF;

  SET v_values = (SELECT GROUP_CONCAT(CONCAT_WS('|', tenant_id, app_id, app_uid, app_name, provider,
                                                apns_auth, team_id, key_id, topic, sandbox, project_id,
                                                client_email, token_uri, subject, client_id,
                                                has_private_key, has_certificate, updated_at)
                                      ORDER BY provider SEPARATOR '\n')
                    FROM hd_credentials WHERE app_uid = v_app_uid);
  IF NOT COALESCE((SELECT COUNT(*) FROM hd_credentials WHERE app_uid = v_app_uid) = 4, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_credentials does not list the app''s four providers';
  END IF;
  IF v_values LIKE '%PRIVATE KEY%' OR v_values LIKE '%MHcCAQEEIC5vT4b%' OR v_values LIKE '%CERTIFICATE%'
     OR v_values LIKE '%wns-client-secret-8d1f%' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_credentials shows a private key, certificate or client secret';
  END IF;
  IF NOT COALESCE((SELECT GROUP_CONCAT(CONCAT(provider, ':', has_private_key, has_certificate) ORDER BY provider)
                     FROM hd_credentials WHERE app_uid = v_app_uid) = 'apns:11,fcm:10,webpush:10,wns:00', FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_credentials does not say which secrets are stored';
  END IF;
END //
DELIMITER ;
