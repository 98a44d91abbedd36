-- Behaviour: changing or removing APNs credentials and retiring the shared token of the
-- key they leave behind happen in one transaction. Inside the caller's transaction
-- both are visible at once and a rollback undoes both (the app keeps its key, the
-- token is back); without one, the call commits both.
-- Run: mariadb --socket S herald < this file   (non-zero exit = failure)
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE v_sfx CHAR(12) DEFAULT LOWER(HEX(RANDOM_BYTES(6)));
  DECLARE v_team CHAR(10) DEFAULT UPPER(LEFT(HEX(RANDOM_BYTES(5)), 10));
  DECLARE v_t BIGINT UNSIGNED;
  DECLARE v_a BIGINT UNSIGNED;
  DECLARE v_app_uid CHAR(36);
  DECLARE v_fp CHAR(64);
  DECLARE v_key_a TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLm9Phv7+jaikI96R
e6vJVrQf7E+NwteshE/2wLVywUWhRANCAASXTWxMofNx5un/v2QDrcJiB6Hk02Wt
/p9jpnzP06h8VdIlFMV8xQuaQFwUqFaEFhbl2IpijkldYwzdqF3eVKmm
-----END PRIVATE KEY-----';
  DECLARE v_key_b TEXT DEFAULT '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0vZ43BT1JQD7BC+e
JqUJqrcV4/W3cNU2CCnu17tkzIehRANCAARtWk1tWMPymK/QTzqZgIdcecjerp0r
vvguAlj0z/5U0i7zSZbQQ9gsAMGeH+jR+8jtRPW9DxhNPBfUs4Wqze2I
-----END PRIVATE KEY-----';

  CALL hd_create_tenant(CONCAT('test-token-txn-', v_sfx), v_t);
  CALL hd_create_app(v_t, CONCAT('test-token-txn-', v_sfx), v_a, v_app_uid);
  CALL hd_set_apns_token_auth(v_app_uid, v_team, 'KEYTXN0001', v_key_a, 'com.example.app', 0);
  SET v_fp = (SELECT apns_key_fingerprint FROM app_credentials WHERE app_id = v_a AND provider = 'apns');
  CALL hd_share_provider_token(v_team, 'KEYTXN0001', v_fp, 'jwt-a', UTC_TIMESTAMP(6), 3000);

  START TRANSACTION;
  CALL hd_set_apns_token_auth(v_app_uid, v_team, 'KEYTXN0001', v_key_b, 'com.example.app', 0);
  IF NOT @@in_transaction THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_apns_token_auth ended the caller''s transaction';
  END IF;
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the old key''s token was not retired with the change';
  END IF;
  ROLLBACK;
  IF NOT COALESCE((SELECT apns_key_fingerprint = v_fp FROM app_credentials
                    WHERE app_id = v_a AND provider = 'apns'), FALSE)
     OR NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND token = 'jwt-a') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rollback did not undo both the change and the retirement';
  END IF;

  START TRANSACTION;
  CALL hd_remove_credentials(v_app_uid, 'apns');
  IF NOT @@in_transaction OR EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_remove_credentials did not retire the token in the caller''s transaction';
  END IF;
  ROLLBACK;
  IF NOT EXISTS (SELECT 1 FROM app_credentials WHERE app_id = v_a AND provider = 'apns')
     OR NOT EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team AND token = 'jwt-a') THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a rollback did not undo both the removal and the retirement';
  END IF;

  CALL hd_set_apns_token_auth(v_app_uid, v_team, 'KEYTXN0001', v_key_b, 'com.example.app', 0);
  IF @@in_transaction THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'hd_set_apns_token_auth left its own transaction open';
  END IF;
  IF EXISTS (SELECT 1 FROM provider_tokens WHERE issuer = v_team) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the old key''s token was not retired';
  END IF;
END //
DELIMITER ;
