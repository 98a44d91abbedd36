-- Behaviour: hd_set_apns_token_auth stores an app's APNs token credentials (team id,
-- key id, the .p8 key without surrounding blanks, topic, sandbox) in its one 'apns'
-- row, replacing certificate credentials set before (certificate gone), and moves
-- updated_at forward; hd_credentials shows the app's uid and the public fields.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_before DATETIME(6);
  DECLARE v_key TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----';
  DECLARE v_cert TEXT DEFAULT '-----BEGIN CERTIFICATE-----
MIIBsjCCAVmgAwIBAgIUJjRylO6C2QYH0kjTgmFNp5s0d0AwCgYIKoZIzj0EAwIw
LzEtMCsGA1UEAwwkQXBwbGUgUHVzaCBTZXJ2aWNlczogY29tLmV4YW1wbGUuYXBw
MB4XDTI2MTEyMjE4NDc1M1oXDTI3MTEyMjE4NDc1M1owLzEtMCsGA1UEAwwkQXBw
bGUgUHVzaCBTZXJ2aWNlczogY29tLmV4YW1wbGUuYXBwMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEl01sTKHzcebp/79kA63CYgeh5NNlrf6fY6Z8z9OofFXSJRTF
fMULmkBcFKhWhBYW5diKYo5JXWMM3ahd3lSppqNTMFEwHQYDVR0OBBYEFD/28Wvp
OHH8zS80Tbv3ruFqTSX2MB8GA1UdIwQYMBaAFD/28WvpOHH8zS80Tbv3ruFqTSX2
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgF7RuJLm1jcmRblZb
VyH4+H2JFqoUVmwRjR8FhL3ta5wCIHTs+9Uxy73nZ3FvsPCsXZWG2AkQ7p1Hkbf1
3uJUppy4
-----END CERTIFICATE-----';

  CALL hd_create_tenant(CONCAT('test-apns-token-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-apns-token-', v_sfx), v_a, v_app_uid);
  CALL hd_set_apns_certificate_auth(v_app_uid, v_cert, v_key, 'com.example.app', 1);
  SET v_before = (SELECT updated_at FROM app_credentials WHERE app_id = v_a AND provider = 'apns');

  CALL hd_set_apns_token_auth(v_app_uid, 'ABCDE12345', 'KEY9876543', CONCAT('  ', v_key, '\n'),
                              'com.example.app.voip', 0);

  IF NOT COALESCE((SELECT COUNT(*) FROM app_credentials WHERE app_id = v_a) = 1, FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the app does not have exactly one credentials row';
  END IF;
  IF NOT COALESCE((SELECT apns_auth = 'token' AND team_id = 'ABCDE12345' AND key_id = 'KEY9876543'
                          AND private_key_pem = v_key AND certificate_pem IS NULL
                          AND topic = 'com.example.app.voip' AND sandbox = 0
                          AND project_id IS NULL AND client_secret IS NULL
                          AND updated_at > v_before
                     FROM app_credentials WHERE app_id = v_a AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_apns_token_auth did not replace the certificate credentials with the token ones';
  END IF;
  IF NOT COALESCE((SELECT app_uid = v_app_uid AND apns_auth = 'token' AND team_id = 'ABCDE12345'
                          AND key_id = 'KEY9876543' AND topic = 'com.example.app.voip' AND sandbox = 0
                          AND has_private_key = 1 AND has_certificate = 0
                     FROM hd_credentials WHERE app_id = v_a AND provider = 'apns'), FALSE) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_credentials does not show the token credentials';
  END IF;
END //
DELIMITER ;
