-- herald schema, migration 7: a shared APNs provider token belongs to the key that
-- signed it.
--
-- provider_tokens held one token per (team, key id). When an operator replaced an
-- app's .p8 with another one under the same team and key id (fixing a wrong key file),
-- every process went on sending the token the old key had signed until it was 50
-- minutes old, and APNs refused each push with InvalidProviderToken. Now:
--   * app_credentials.apns_key_fingerprint identifies an app's APNs signing key: the
--     SHA-256 (hex) of its PEM text without blanks or line breaks, so the same .p8
--     file gives the same fingerprint whatever its line endings or wrapping;
--   * provider_tokens is keyed by (team, key id, fingerprint): a token is handed only
--     to a process whose credentials carry the key that signed it, and two apps that
--     (wrongly) name the same team and key id with different keys each keep their own
--     token instead of replacing each other's;
--   * every procedure that stores or removes credentials retires, in the same call,
--     the tokens whose key no app holds any more.

-- A generated column: it cannot disagree with the key it describes.
ALTER TABLE app_credentials
  ADD COLUMN apns_key_fingerprint CHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    AS (IF(apns_auth = 'token',
           SHA2(REGEXP_REPLACE(private_key_pem, '[[:space:]]+', ''), 256), NULL)) STORED,
  ADD INDEX app_credentials_apns_key (team_id, key_id, apns_key_fingerprint);

ALTER TABLE provider_tokens
  ADD COLUMN key_fingerprint CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT ''
    AFTER key_id;

-- A stored token is kept only when it can be told which key signed it: one key is in
-- use for its team and key id, and the token was issued after that key was last set
-- (a token older than that may have been signed by the key it replaced). Anything
-- else is dropped, and the next send signs a new one.
UPDATE provider_tokens t
  JOIN (SELECT team_id, key_id, MIN(apns_key_fingerprint) AS fingerprint, MAX(updated_at) AS set_at
          FROM app_credentials
         WHERE apns_key_fingerprint IS NOT NULL
         GROUP BY team_id, key_id
        HAVING COUNT(DISTINCT apns_key_fingerprint) = 1) k
    ON k.team_id = t.issuer AND k.key_id = t.key_id
   SET t.key_fingerprint = k.fingerprint
 WHERE t.issued_at >= k.set_at;
DELETE FROM provider_tokens WHERE key_fingerprint = '';

ALTER TABLE provider_tokens
  ALTER COLUMN key_fingerprint DROP DEFAULT,
  DROP PRIMARY KEY,
  ADD PRIMARY KEY (issuer, key_id, key_fingerprint);

DELIMITER //

-- hd_internal_retire_provider_tokens: deletes every shared provider token whose
-- signing key (team, key id, fingerprint) no app's credentials hold any more. Called
-- by whatever changes or removes credentials, after the change.
CREATE OR REPLACE PROCEDURE hd_internal_retire_provider_tokens()
  MODIFIES SQL DATA
BEGIN
  DELETE FROM provider_tokens
   WHERE NOT EXISTS (SELECT 1 FROM app_credentials c
                      WHERE c.team_id = provider_tokens.issuer
                        AND c.key_id = provider_tokens.key_id
                        AND c.apns_key_fingerprint = provider_tokens.key_fingerprint);
END //

-- hd_share_provider_token: offers p_candidate, a provider token issued at
-- p_candidate_iat and signed by the key whose fingerprint
-- (app_credentials.apns_key_fingerprint) is p_key_fingerprint, as the current token
-- of (p_issuer, p_key_id) for that key. It is stored when there is none yet for that
-- key or the stored one was issued at or before p_candidate_iat - p_min_age_s
-- (0..86400); otherwise the stored one stays. A token of another key under the same
-- team and key id is never handed back, nor touched. One atomic upsert: of many
-- processes offering tokens at once, all end up with the same one.
-- Returns one row: token, issued_at: the token to use (stored after the call).
CREATE OR REPLACE PROCEDURE hd_share_provider_token(IN p_issuer VARCHAR(255) CHARACTER SET utf8mb4,
                                                    IN p_key_id VARCHAR(64) CHARACTER SET utf8mb4,
                                                    IN p_key_fingerprint VARCHAR(64) CHARACTER SET ascii,
                                                    IN p_candidate TEXT CHARACTER SET utf8mb4,
                                                    IN p_candidate_iat DATETIME(6),
                                                    IN p_min_age_s INT)
  MODIFIES SQL DATA
BEGIN
  IF p_issuer IS NULL OR p_issuer = '' OR p_key_id IS NULL OR p_key_id = '' THEN
    CALL hd_internal_fail('hd_share_provider_token: issuer and key id must not be empty');
  END IF;
  IF p_key_fingerprint IS NULL OR NOT CAST(p_key_fingerprint AS BINARY) REGEXP '^[0-9a-f]{64}$' THEN
    CALL hd_internal_fail('hd_share_provider_token: the key fingerprint must be 64 lowercase hex digits');
  END IF;
  IF p_candidate IS NULL OR p_candidate = '' OR p_candidate_iat IS NULL THEN
    CALL hd_internal_fail('hd_share_provider_token: candidate token and its issue time are required');
  END IF;
  IF p_min_age_s IS NULL OR p_min_age_s < 0 OR p_min_age_s > 86400 THEN
    CALL hd_internal_fail(CONCAT('hd_share_provider_token: minimum age must be 0..86400 seconds, not ',
                                 IFNULL(p_min_age_s, 'NULL')));
  END IF;
  -- MariaDB assigns left to right, and later assignments see earlier ones: token is
  -- assigned first, so both conditions read the stored issued_at, not the new one.
  INSERT INTO provider_tokens (issuer, key_id, key_fingerprint, token, issued_at)
    VALUES (p_issuer, p_key_id, p_key_fingerprint, p_candidate, p_candidate_iat)
    ON DUPLICATE KEY UPDATE
      token = IF(issued_at <= VALUES(issued_at) - INTERVAL p_min_age_s SECOND,
                 VALUES(token), token),
      issued_at = IF(issued_at <= VALUES(issued_at) - INTERVAL p_min_age_s SECOND,
                     VALUES(issued_at), issued_at);
  SELECT token, issued_at FROM provider_tokens
   WHERE issuer = p_issuer AND key_id = p_key_id AND key_fingerprint = p_key_fingerprint;
END //

-- hd_internal_store_credentials: writes app p_app_id's row for p_provider, replacing
-- every column (those the provider does not use become NULL), then retires the shared
-- provider tokens of an APNs key that no app holds now (the key this row held before,
-- when it was the last app with it). Both in one transaction: the caller's, or its own
-- when the caller has none.
CREATE OR REPLACE PROCEDURE hd_internal_store_credentials(
  IN p_app_id BIGINT UNSIGNED, IN p_provider VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_apns_auth VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_team_id VARCHAR(64) CHARACTER SET utf8mb4, IN p_key_id VARCHAR(64) CHARACTER SET utf8mb4,
  IN p_private_key_pem TEXT CHARACTER SET utf8mb4, IN p_certificate_pem TEXT CHARACTER SET utf8mb4,
  IN p_topic VARCHAR(255) CHARACTER SET utf8mb4, IN p_sandbox TINYINT,
  IN p_project_id VARCHAR(255) CHARACTER SET utf8mb4, IN p_client_email VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_token_uri VARCHAR(1024) CHARACTER SET utf8mb4, IN p_subject VARCHAR(255) CHARACTER SET utf8mb4,
  IN p_client_id VARCHAR(255) CHARACTER SET utf8mb4, IN p_client_secret VARCHAR(255) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_own TINYINT DEFAULT NOT @@in_transaction;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_own THEN
      ROLLBACK;
    END IF;
    RESIGNAL;
  END;
  IF v_own THEN
    START TRANSACTION;
  END IF;
  INSERT INTO app_credentials (app_id, provider, apns_auth, team_id, key_id, private_key_pem,
                               certificate_pem, topic, sandbox, project_id, client_email,
                               token_uri, subject, client_id, client_secret, updated_at)
    VALUES (p_app_id, p_provider, p_apns_auth, p_team_id, p_key_id, p_private_key_pem,
            p_certificate_pem, p_topic, p_sandbox, p_project_id, p_client_email,
            p_token_uri, p_subject, p_client_id, p_client_secret, UTC_TIMESTAMP(6))
    ON DUPLICATE KEY UPDATE
      apns_auth = VALUES(apns_auth), team_id = VALUES(team_id), key_id = VALUES(key_id),
      private_key_pem = VALUES(private_key_pem), certificate_pem = VALUES(certificate_pem),
      topic = VALUES(topic), sandbox = VALUES(sandbox), project_id = VALUES(project_id),
      client_email = VALUES(client_email), token_uri = VALUES(token_uri),
      subject = VALUES(subject), client_id = VALUES(client_id),
      client_secret = VALUES(client_secret), updated_at = VALUES(updated_at);
  IF p_provider = 'apns' THEN
    CALL hd_internal_retire_provider_tokens();
  END IF;
  IF v_own THEN
    COMMIT;
  END IF;
END //

-- hd_remove_credentials: deletes app p_app_uid's credentials for p_provider (apns,
-- fcm, webpush or wns); its deliveries to that platform then fail until new ones are
-- set. Signals when the app has none for that provider, so that a typo is not
-- mistaken for a removal. Removing APNs credentials retires the shared provider
-- tokens of their key unless another app still holds that key. The removal and the
-- retirement run in one transaction: the caller's, or its own when the caller has
-- none.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_remove_credentials(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                  IN p_provider VARCHAR(16) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_own TINYINT DEFAULT NOT @@in_transaction;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_own THEN
      ROLLBACK;
    END IF;
    RESIGNAL;
  END;
  CALL hd_internal_app_by_uid('hd_remove_credentials', p_app_uid, v_app);
  IF p_provider IS NULL OR CAST(p_provider AS BINARY) NOT IN ('apns', 'fcm', 'webpush', 'wns') THEN
    CALL hd_internal_fail(CONCAT('hd_remove_credentials: bad provider ''', IFNULL(LEFT(p_provider, 16), 'NULL'),
                                 ''' (want apns, fcm, webpush or wns)'));
  END IF;
  IF v_own THEN
    START TRANSACTION;
  END IF;
  DELETE FROM app_credentials WHERE app_id = v_app AND provider = p_provider;
  IF ROW_COUNT() = 0 THEN
    CALL hd_internal_fail(CONCAT('hd_remove_credentials: app ''', p_app_uid, ''' has no ',
                                 p_provider, ' credentials'));
  END IF;
  -- The engine notices changes by MAX(updated_at): removing a row that was not the
  -- latest would leave it unchanged, so the remaining rows are touched.
  UPDATE app_credentials SET updated_at = UTC_TIMESTAMP(6) WHERE app_id = v_app;
  IF p_provider = 'apns' THEN
    CALL hd_internal_retire_provider_tokens();
  END IF;
  IF v_own THEN
    COMMIT;
  END IF;
END //

DELIMITER ;
