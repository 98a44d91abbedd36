-- herald schema, migration 16: provider secrets sealed at rest (docs/credentials.md).
--
-- app_credentials held every APNs, FCM and VAPID private key and every WNS client
-- secret in plain text: a database dump, a replica or a backup gave them away. Now a
-- worker whose configuration names credentials_key_file seals them with AES-256-GCM
-- (lib/delivery/hd_keyring.h) and clears the plain text:
--   * sealed: the sealed secrets (private_key_pem and client_secret); sealed_key_id:
--     the id of the key that sealed them. Both NULL while the secrets are in plain
--     text: from an operator's hd_set_* call until a worker's next pass (about a
--     second), or always when no worker holds a key;
--   * hd_credentials_to_seal and hd_seal_credentials are that pass: rows in plain
--     text, or sealed with a key other than the current one (rotation), are read,
--     sealed and written back only if nobody changed them meanwhile;
--   * what was derived from the private key in SQL is stored when it is set, since
--     the key is not readable afterwards: apns_key_fingerprint stops being a
--     generated column (its values stay), and vapid_public_key is new;
--   * hd_credentials shows sealed_with (the key id; NULL while in plain text).
-- Sealing keeps updated_at: the credentials did not change, so no process reloads.

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

ALTER TABLE app_credentials
  MODIFY COLUMN apns_key_fingerprint CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD COLUMN vapid_public_key VARCHAR(87) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD COLUMN sealed BLOB NULL,
  ADD COLUMN sealed_key_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD CONSTRAINT app_credentials_sealed CHECK ((sealed IS NULL) = (sealed_key_id IS NULL));

UPDATE app_credentials
   SET vapid_public_key = hd_internal_vapid_public_key(private_key_pem),
       updated_at = updated_at
 WHERE provider = 'webpush';

DELIMITER //

-- hd_internal_store_credentials: as in migration 7, plus what is derived from the key
-- (its APNs fingerprint, its VAPID public key), and the new secrets in plain text
-- until the next sealing pass.
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
  DECLARE v_fingerprint CHAR(64) CHARACTER SET ascii DEFAULT
    IF(p_apns_auth = 'token', SHA2(REGEXP_REPLACE(p_private_key_pem, '[[:space:]]+', ''), 256), NULL);
  DECLARE v_vapid VARCHAR(87) CHARACTER SET ascii DEFAULT
    IF(p_provider = 'webpush', hd_internal_vapid_public_key(p_private_key_pem), NULL);
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
                               token_uri, subject, client_id, client_secret,
                               apns_key_fingerprint, vapid_public_key, sealed, sealed_key_id,
                               updated_at)
    VALUES (p_app_id, p_provider, p_apns_auth, p_team_id, p_key_id, p_private_key_pem,
            p_certificate_pem, p_topic, p_sandbox, p_project_id, p_client_email,
            p_token_uri, p_subject, p_client_id, p_client_secret,
            v_fingerprint, v_vapid, NULL, NULL, UTC_TIMESTAMP(6))
    ON DUPLICATE KEY UPDATE
      apns_auth = VALUES(apns_auth), team_id = VALUES(team_id), key_id = VALUES(key_id),
      private_key_pem = VALUES(private_key_pem), certificate_pem = VALUES(certificate_pem),
      topic = VALUES(topic), sandbox = VALUES(sandbox), project_id = VALUES(project_id),
      client_email = VALUES(client_email), token_uri = VALUES(token_uri),
      subject = VALUES(subject), client_id = VALUES(client_id),
      client_secret = VALUES(client_secret),
      apns_key_fingerprint = VALUES(apns_key_fingerprint),
      vapid_public_key = VALUES(vapid_public_key), sealed = NULL, sealed_key_id = NULL,
      updated_at = VALUES(updated_at);
  IF p_provider = 'apns' THEN
    CALL hd_internal_retire_provider_tokens();
  END IF;
  IF v_own THEN
    COMMIT;
  END IF;
END //

-- hd_credentials_to_seal: up to p_limit credentials rows whose secrets are in plain
-- text, or sealed with a key other than p_key_id (the worker's current key). Columns:
-- app_id, provider, private_key_pem, client_secret, sealed, sealed_key_id.
CREATE OR REPLACE PROCEDURE hd_credentials_to_seal(IN p_key_id VARCHAR(64) CHARACTER SET ascii,
                                                   IN p_limit INT)
  READS SQL DATA
BEGIN
  SELECT app_id, provider, private_key_pem, client_secret, sealed, sealed_key_id
    FROM app_credentials
   WHERE private_key_pem IS NOT NULL OR client_secret IS NOT NULL
      OR sealed_key_id <> p_key_id
   ORDER BY app_id, provider
   LIMIT p_limit;
END //

-- hd_seal_credentials: stores p_sealed (sealed with key p_key_id) as the secrets of
-- app p_app_id's p_provider row and clears their plain text, but only while the row
-- still holds exactly what the sealing pass read (p_private_key_pem, p_client_secret,
-- p_old_sealed): an operator who set new credentials meanwhile wins, and the next
-- pass seals those. Returns one row: 1 when stored, 0 when the row had changed.
CREATE OR REPLACE PROCEDURE hd_seal_credentials(
  IN p_app_id BIGINT UNSIGNED, IN p_provider VARCHAR(16) CHARACTER SET utf8mb4,
  IN p_private_key_pem TEXT CHARACTER SET utf8mb4,
  IN p_client_secret VARCHAR(255) CHARACTER SET utf8mb4, IN p_old_sealed BLOB,
  IN p_key_id VARCHAR(64) CHARACTER SET ascii, IN p_sealed BLOB)
  MODIFIES SQL DATA
BEGIN
  IF p_key_id IS NULL OR p_key_id = '' OR p_sealed IS NULL THEN
    CALL hd_internal_fail('hd_seal_credentials: a key id and the sealed secrets are required');
  END IF;
  UPDATE app_credentials
     SET sealed = p_sealed, sealed_key_id = p_key_id, private_key_pem = NULL,
         client_secret = NULL, updated_at = updated_at
   WHERE app_id = p_app_id AND provider = p_provider
     AND private_key_pem <=> p_private_key_pem AND client_secret <=> p_client_secret
     AND sealed <=> p_old_sealed;
  SELECT ROW_COUNT() AS stored;
END //

DELIMITER ;

-- hd_credentials: as in migration 4; has_private_key also counts a sealed key (APNs,
-- FCM and Web Push credentials always have one), and sealed_with names the key.
CREATE OR REPLACE VIEW hd_credentials AS
SELECT a.tenant_id                                      AS tenant_id,
       c.app_id                                         AS app_id,
       a.uid                                            AS app_uid,
       a.name                                           AS app_name,
       c.provider                                       AS provider,
       c.apns_auth                                      AS apns_auth,
       c.team_id                                        AS team_id,
       c.key_id                                         AS key_id,
       c.topic                                          AS topic,
       c.sandbox                                        AS sandbox,
       c.project_id                                     AS project_id,
       c.client_email                                   AS client_email,
       c.token_uri                                      AS token_uri,
       c.subject                                        AS subject,
       c.client_id                                      AS client_id,
       CAST(c.private_key_pem IS NOT NULL
            OR (c.sealed IS NOT NULL AND c.provider <> 'wns') AS UNSIGNED) AS has_private_key,
       CAST(c.certificate_pem IS NOT NULL AS UNSIGNED)  AS has_certificate,
       c.updated_at                                     AS updated_at,
       c.sealed_key_id                                  AS sealed_with
  FROM app_credentials c
  JOIN apps a ON a.id = c.app_id;

-- hd_webpush_vapid: as in migration 9, from the stored public key.
CREATE OR REPLACE VIEW hd_webpush_vapid AS
SELECT c.app_id                                         AS app_id,
       c.subject                                        AS subject,
       c.vapid_public_key                               AS public_key
  FROM app_credentials c
 WHERE c.provider = 'webpush';
