-- herald schema, migration 2: SQL administration.
--
-- Stored procedures to create tenants, apps and app users, to issue, grant and
-- revoke keys, to set quotas, dedupe windows, push switches and browser origins, and
-- to purge old data; views for usage and delivery statistics and for keys. The
-- administration guide is docs/admin.md.
--
-- Conventions
--   * Every procedure checks its inputs and refuses misuse with
--     SIGNAL SQLSTATE '45000' and a MESSAGE_TEXT that starts with the procedure's
--     name ("hd_issue_key: app 7 does not belong to tenant 3"). Nothing is written
--     when a procedure refuses.
--   * Ids are BIGINT UNSIGNED. MariaDB copies OUT parameters back to the caller only
--     when a call succeeds: after a refused call the caller's variables still hold
--     what they held before, so check for the error, not for a NULL.
--   * Times are written as UTC (UTC_TIMESTAMP(6)); herald's connections run with
--     time_zone = '+00:00', so every DATETIME in the schema is UTC.
--   * Random values (app uids, user uids, keys) come from RANDOM_BYTES(), the
--     server's CSPRNG; UUID() is time-based and guessable and is never used.
--   * Key plaintext exists only in the procedure's local variable and its OUT
--     parameter. The INSERT references only the hash, so even a statement-format
--     binary log never contains a plaintext key.
--   * Routines named hd_internal_* are helpers of the procedures below, not part of
--     the administration interface.
--
-- Applied by tools/herald-migrate with the mariadb command-line client. The file is
-- safe to apply again (CREATE OR REPLACE / IF NOT EXISTS), should a first attempt
-- stop half-way.

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

-- ---------------------------------------------------------------------------------
-- Tenancy constraints the admin procedures rely on, enforced by the schema as well:
-- a key's app belongs to the key's tenant, a key's app user belongs to the key's app,
-- and a grant never crosses tenants, whoever writes the rows.
-- ---------------------------------------------------------------------------------

ALTER TABLE apps ADD UNIQUE KEY IF NOT EXISTS apps_id_tenant (id, tenant_id);
ALTER TABLE app_users ADD UNIQUE KEY IF NOT EXISTS app_users_id_app (id, app_id);
ALTER TABLE api_keys ADD UNIQUE KEY IF NOT EXISTS api_keys_id_tenant (id, tenant_id);

ALTER TABLE api_keys
  ADD CONSTRAINT api_keys_app_tenant_fk
    FOREIGN KEY IF NOT EXISTS (app_id, tenant_id) REFERENCES apps (id, tenant_id),
  ADD CONSTRAINT api_keys_app_user_fk
    FOREIGN KEY IF NOT EXISTS (app_user_id, app_id) REFERENCES app_users (id, app_id);

-- Apps a user_token key may send to (audience dialect). The key and the app carry the
-- same tenant_id, checked by both foreign keys. The C code authorizes a user_token
-- request with:
--   SELECT ... FROM api_keys k
--     JOIN key_app_grants g ON g.key_id = k.id
--     JOIN apps a ON a.id = g.app_id
--    WHERE k.key_hash = ? AND k.kind = 'user_token' AND k.revoked_at IS NULL
--      AND a.uid = ?
CREATE TABLE IF NOT EXISTS key_app_grants (
  key_id      BIGINT UNSIGNED NOT NULL,
  app_id      BIGINT UNSIGNED NOT NULL,
  tenant_id   BIGINT UNSIGNED NOT NULL,
  created_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (key_id, app_id),
  KEY key_app_grants_app (app_id, tenant_id),
  KEY key_app_grants_key (key_id, tenant_id),
  CONSTRAINT key_app_grants_key_fk FOREIGN KEY (key_id, tenant_id)
    REFERENCES api_keys (id, tenant_id) ON DELETE CASCADE,
  CONSTRAINT key_app_grants_app_fk FOREIGN KEY (app_id, tenant_id)
    REFERENCES apps (id, tenant_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

DELIMITER //

-- ---------------------------------------------------------------------------------
-- Internal helpers
-- ---------------------------------------------------------------------------------

-- hd_internal_fail: raises SQLSTATE '45000' with p_message as MESSAGE_TEXT.
-- Returns: never (always signals).
CREATE OR REPLACE PROCEDURE hd_internal_fail(IN p_message VARCHAR(512) CHARACTER SET utf8mb4)
  NO SQL
BEGIN
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = p_message;
END //

-- hd_internal_require_app: signals unless p_app_id names an existing app. p_proc is
-- the calling procedure's name, used as the message prefix.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_internal_require_app(IN p_proc VARCHAR(64) CHARACTER SET utf8mb4,
                                                    IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  IF p_app_id IS NULL THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': app id is required'));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM apps WHERE id = p_app_id) THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': unknown app ', p_app_id));
  END IF;
END //

-- hd_internal_random_uuid: a random (version 4, RFC 9562 variant) UUID built from
-- RANDOM_BYTES(16): 122 random bits, lowercase, 36 characters.
-- Returns: CHAR(36), e.g. '3f0b6c1e-9a4d-4c2e-b1f7-0d5e8a9c7b21'.
CREATE OR REPLACE FUNCTION hd_internal_random_uuid()
  RETURNS CHAR(36) CHARACTER SET ascii
  NOT DETERMINISTIC NO SQL
BEGIN
  DECLARE h CHAR(32) CHARACTER SET ascii DEFAULT LOWER(HEX(RANDOM_BYTES(16)));
  RETURN CONCAT(SUBSTR(h, 1, 8), '-',
                SUBSTR(h, 9, 4), '-',
                '4', SUBSTR(h, 14, 3), '-',
                ELT(1 + (CONV(SUBSTR(h, 17, 1), 16, 10) & 3), '8', '9', 'a', 'b'),
                SUBSTR(h, 18, 3), '-',
                SUBSTR(h, 21, 12));
END //

-- hd_internal_normalize_origin: the canonical form of a browser origin, or NULL when
-- p_origin is not one. Accepted: "http://" or "https://", then a host (a DNS name
-- of ASCII letters, digits and hyphens, IDNs in their xn-- form; an IPv4 address;
-- an [IPv6] literal), then an optional ":port" (1..65535, no leading zero); no user
-- info, path, query, fragment, trailing slash or dot, or surrounding blanks. The
-- result is lowercased and drops a default port (:443 for https, :80 for http),
-- because browsers never send one in Origin.
-- Returns: VARCHAR(255) or NULL.
CREATE OR REPLACE FUNCTION hd_internal_normalize_origin(p_origin VARCHAR(255) CHARACTER SET utf8mb4)
  RETURNS VARCHAR(255) CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  DECLARE v VARCHAR(255) CHARACTER SET utf8mb4;
  DECLARE v_port VARCHAR(8) CHARACTER SET utf8mb4;
  -- Only ASCII (IDN hosts come in their xn-- form): LOWER() would fold some other
  -- characters into ASCII letters (U+212A KELVIN SIGN becomes 'k').
  IF p_origin IS NULL OR LENGTH(p_origin) <> CHAR_LENGTH(p_origin) THEN
    RETURN NULL;
  END IF;
  SET v = LOWER(p_origin);
  -- Matched as bytes, so that a case-insensitive collation cannot widen [a-z].
  IF NOT CAST(v AS BINARY) REGEXP '^https?://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|\\[[0-9a-f:.]+\\])(:[1-9][0-9]{0,4})?$' THEN
    RETURN NULL;
  END IF;
  SET v_port = REGEXP_SUBSTR(v, '(?<=:)[0-9]+$');
  IF v_port <> '' THEN
    IF CAST(v_port AS UNSIGNED) > 65535 THEN
      RETURN NULL;
    END IF;
    IF (v LIKE 'https://%' AND v_port = '443') OR (v LIKE 'http://%' AND v_port = '80') THEN
      SET v = LEFT(v, CHAR_LENGTH(v) - CHAR_LENGTH(v_port) - 1);
    END IF;
  END IF;
  RETURN v;
END //

-- hd_internal_issue_key: creates a key row of an already validated kind, tenant, app
-- and app user, and makes its plaintext: 'hd_' + kind tag + '_' + 48 lowercase hex
-- characters (24 random bytes). Only UNHEX(SHA2(plaintext, 256)) is stored.
-- Kind tags: server srv, secret sec, client cli, integration int, user_token ut,
-- bearer bt.
-- Returns: p_key_id (api_keys.id) and p_plaintext (shown once, never stored).
CREATE OR REPLACE PROCEDURE hd_internal_issue_key(IN p_kind VARCHAR(20) CHARACTER SET utf8mb4,
                                                  IN p_tenant_id BIGINT UNSIGNED,
                                                  IN p_app_id BIGINT UNSIGNED,
                                                  IN p_app_user_id BIGINT UNSIGNED,
                                                  IN p_label VARCHAR(200) CHARACTER SET utf8mb4,
                                                  OUT p_key_id BIGINT UNSIGNED,
                                                  OUT p_plaintext VARCHAR(100) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_plain VARCHAR(100) CHARACTER SET ascii;
  DECLARE v_hash BINARY(32);
  SET v_plain = CONCAT('hd_',
                       CASE p_kind
                         WHEN 'server' THEN 'srv'
                         WHEN 'secret' THEN 'sec'
                         WHEN 'client' THEN 'cli'
                         WHEN 'integration' THEN 'int'
                         WHEN 'user_token' THEN 'ut'
                         WHEN 'bearer' THEN 'bt'
                       END,
                       '_', LOWER(HEX(RANDOM_BYTES(24))));
  SET v_hash = UNHEX(SHA2(v_plain, 256));
  INSERT INTO api_keys (key_hash, kind, tenant_id, app_id, app_user_id, label, created_at)
  VALUES (v_hash, p_kind, p_tenant_id, p_app_id, p_app_user_id,
          NULLIF(TRIM(p_label), ''), UTC_TIMESTAMP(6));
  SET p_key_id = LAST_INSERT_ID();
  SET p_plaintext = v_plain;
END //

-- ---------------------------------------------------------------------------------
-- Tenants, apps, app users
-- ---------------------------------------------------------------------------------

-- hd_create_tenant: creates a tenant (organization, company) named p_name (leading
-- and trailing blanks removed; must not be empty).
-- Returns: p_tenant_id, the new tenant's id. In the legacy dialect this id is the
-- CompanyId.
CREATE OR REPLACE PROCEDURE hd_create_tenant(IN p_name VARCHAR(200) CHARACTER SET utf8mb4,
                                             OUT p_tenant_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  IF p_name IS NULL OR TRIM(p_name) = '' THEN
    CALL hd_internal_fail('hd_create_tenant: name must not be empty');
  END IF;
  INSERT INTO tenants (name, created_at) VALUES (TRIM(p_name), UTC_TIMESTAMP(6));
  SET p_tenant_id = LAST_INSERT_ID();
END //

-- hd_create_app: creates an app (a service, in the webpush dialect) of tenant
-- p_tenant_id, named p_name, with the defaults: push enabled, dedupe window 600 s,
-- no quotas, no allowed origins.
-- Returns: p_app_id (internal id, used by the other procedures) and p_app_uid (a
-- random v4 UUID: the app's public id, what clients see and send as app_id).
CREATE OR REPLACE PROCEDURE hd_create_app(IN p_tenant_id BIGINT UNSIGNED,
                                          IN p_name VARCHAR(200) CHARACTER SET utf8mb4,
                                          OUT p_app_id BIGINT UNSIGNED,
                                          OUT p_app_uid CHAR(36))
  MODIFIES SQL DATA
BEGIN
  DECLARE v_uid CHAR(36) CHARACTER SET ascii;
  IF p_tenant_id IS NULL THEN
    CALL hd_internal_fail('hd_create_app: tenant id is required');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = p_tenant_id) THEN
    CALL hd_internal_fail(CONCAT('hd_create_app: unknown tenant ', p_tenant_id));
  END IF;
  IF p_name IS NULL OR TRIM(p_name) = '' THEN
    CALL hd_internal_fail('hd_create_app: name must not be empty');
  END IF;
  SET v_uid = hd_internal_random_uuid();
  INSERT INTO apps (uid, tenant_id, name, created_at)
  VALUES (v_uid, p_tenant_id, TRIM(p_name), UTC_TIMESTAMP(6));
  SET p_app_id = LAST_INSERT_ID();
  SET p_app_uid = v_uid;
END //

-- hd_create_app_user: creates the user p_external_id (the app's own id for the user,
-- case-sensitive, not empty) of app p_app_id, or updates the email of that user if it
-- exists already. p_email: NULL leaves an existing email as it is, '' clears it,
-- anything else must look like local@domain. Safe under concurrency: one atomic
-- upsert on the unique key (app_id, external_id).
-- Returns: p_user_uid, the user's public id (32 lowercase hex characters from
-- RANDOM_BYTES(16)); for an existing user, its existing uid.
CREATE OR REPLACE PROCEDURE hd_create_app_user(IN p_app_id BIGINT UNSIGNED,
                                               IN p_external_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
                                               IN p_email VARCHAR(255) CHARACTER SET utf8mb4,
                                               OUT p_user_uid CHAR(32))
  MODIFIES SQL DATA
BEGIN
  DECLARE v_email VARCHAR(255) CHARACTER SET utf8mb4 DEFAULT NULLIF(TRIM(p_email), '');
  CALL hd_internal_require_app('hd_create_app_user', p_app_id);
  IF p_external_id IS NULL OR p_external_id = '' THEN
    CALL hd_internal_fail('hd_create_app_user: external id must not be empty');
  END IF;
  IF v_email IS NOT NULL AND NOT v_email REGEXP '^[^@[:space:]]+@[^@[:space:]]+$' THEN
    CALL hd_internal_fail(CONCAT('hd_create_app_user: bad email ''', LEFT(p_email, 100), ''''));
  END IF;
  INSERT INTO app_users (uid, app_id, external_id, email, created_at)
  VALUES (LOWER(HEX(RANDOM_BYTES(16))), p_app_id, p_external_id, v_email, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE email = IF(p_email IS NULL, email, v_email);
  SET p_user_uid = (SELECT uid FROM app_users
                     WHERE app_id = p_app_id AND external_id = p_external_id);
END //

-- ---------------------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------------------

-- hd_issue_key: issues a key of kind p_kind for tenant p_tenant_id.
--   server, secret, client, integration, bearer: p_app_id is required and must be an
--     app of that tenant; the key acts for that app only.
--   user_token: tenant-level; p_app_id must be NULL; it can send to no app until
--     granted apps with hd_grant_key_app.
--   bearer keys issued here are bound to no app user; hd_issue_bearer_key issues one
--     bound to a user.
-- p_label is a free note for administrators (optional).
-- Returns: p_key_id and p_plaintext, the key itself ('hd_<tag>_<48 hex>'). The
-- plaintext is returned this once and stored nowhere: the database keeps only its
-- SHA-256. Give it to the key's owner; if it is lost, issue a new key.
CREATE OR REPLACE PROCEDURE hd_issue_key(IN p_kind VARCHAR(20) CHARACTER SET utf8mb4,
                                         IN p_tenant_id BIGINT UNSIGNED,
                                         IN p_app_id BIGINT UNSIGNED,
                                         IN p_label VARCHAR(200) CHARACTER SET utf8mb4,
                                         OUT p_key_id BIGINT UNSIGNED,
                                         OUT p_plaintext VARCHAR(100) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app_tenant BIGINT UNSIGNED DEFAULT NULL;
  IF p_kind IS NULL
     OR CAST(p_kind AS BINARY) NOT IN ('server', 'secret', 'client', 'integration',
                                       'user_token', 'bearer') THEN
    CALL hd_internal_fail(CONCAT('hd_issue_key: bad kind ''', IFNULL(LEFT(p_kind, 20), 'NULL'),
                                 ''' (want server, secret, client, integration, user_token or bearer)'));
  END IF;
  IF p_tenant_id IS NULL THEN
    CALL hd_internal_fail('hd_issue_key: tenant id is required');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = p_tenant_id) THEN
    CALL hd_internal_fail(CONCAT('hd_issue_key: unknown tenant ', p_tenant_id));
  END IF;
  IF p_kind = 'user_token' THEN
    IF p_app_id IS NOT NULL THEN
      CALL hd_internal_fail('hd_issue_key: a user_token key belongs to the tenant: app id must be NULL (grant apps with hd_grant_key_app)');
    END IF;
  ELSE
    IF p_app_id IS NULL THEN
      CALL hd_internal_fail(CONCAT('hd_issue_key: a ', p_kind, ' key needs an app id'));
    END IF;
    SET v_app_tenant = (SELECT tenant_id FROM apps WHERE id = p_app_id);
    IF v_app_tenant IS NULL THEN
      CALL hd_internal_fail(CONCAT('hd_issue_key: unknown app ', p_app_id));
    END IF;
    IF v_app_tenant <> p_tenant_id THEN
      CALL hd_internal_fail(CONCAT('hd_issue_key: app ', p_app_id, ' does not belong to tenant ', p_tenant_id));
    END IF;
  END IF;
  CALL hd_internal_issue_key(p_kind, p_tenant_id, p_app_id, NULL, p_label, p_key_id, p_plaintext);
END //

-- hd_issue_bearer_key: issues a bearer key for the inbox of one app user: the user
-- whose external id is p_external_id in app p_app_id (create it first with
-- hd_create_app_user). The key's tenant is the app's tenant.
-- Returns: p_key_id and p_plaintext, as hd_issue_key (plaintext shown once).
CREATE OR REPLACE PROCEDURE hd_issue_bearer_key(IN p_app_id BIGINT UNSIGNED,
                                                IN p_external_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
                                                IN p_label VARCHAR(200) CHARACTER SET utf8mb4,
                                                OUT p_key_id BIGINT UNSIGNED,
                                                OUT p_plaintext VARCHAR(100) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_tenant BIGINT UNSIGNED;
  DECLARE v_user BIGINT UNSIGNED;
  CALL hd_internal_require_app('hd_issue_bearer_key', p_app_id);
  IF p_external_id IS NULL OR p_external_id = '' THEN
    CALL hd_internal_fail('hd_issue_bearer_key: external id must not be empty');
  END IF;
  SET v_user = (SELECT id FROM app_users WHERE app_id = p_app_id AND external_id = p_external_id);
  IF v_user IS NULL THEN
    CALL hd_internal_fail(CONCAT('hd_issue_bearer_key: app ', p_app_id, ' has no user with external id ''',
                                 LEFT(p_external_id, 100), ''''));
  END IF;
  SET v_tenant = (SELECT tenant_id FROM apps WHERE id = p_app_id);
  CALL hd_internal_issue_key('bearer', v_tenant, p_app_id, v_user, p_label, p_key_id, p_plaintext);
END //

-- hd_grant_key_app: lets user_token key p_key_id send to app p_app_id. The app must
-- belong to the key's tenant, and the key must be an active user_token key (every
-- other kind is bound to one app when it is issued). Granting twice is harmless.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_grant_key_app(IN p_key_id BIGINT UNSIGNED,
                                             IN p_app_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_kind VARCHAR(20) CHARACTER SET utf8mb4;
  DECLARE v_tenant BIGINT UNSIGNED;
  DECLARE v_revoked DATETIME(6);
  DECLARE v_app_tenant BIGINT UNSIGNED;
  IF p_key_id IS NULL THEN
    CALL hd_internal_fail('hd_grant_key_app: key id is required');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM api_keys WHERE id = p_key_id) THEN
    CALL hd_internal_fail(CONCAT('hd_grant_key_app: unknown key ', p_key_id));
  END IF;
  SELECT kind, tenant_id, revoked_at INTO v_kind, v_tenant, v_revoked
    FROM api_keys WHERE id = p_key_id;
  IF v_kind <> 'user_token' THEN
    CALL hd_internal_fail(CONCAT('hd_grant_key_app: key ', p_key_id, ' is a ', v_kind,
                                 ' key; only user_token keys are granted apps'));
  END IF;
  IF v_revoked IS NOT NULL THEN
    CALL hd_internal_fail(CONCAT('hd_grant_key_app: key ', p_key_id, ' is revoked'));
  END IF;
  CALL hd_internal_require_app('hd_grant_key_app', p_app_id);
  SET v_app_tenant = (SELECT tenant_id FROM apps WHERE id = p_app_id);
  IF v_app_tenant <> v_tenant THEN
    CALL hd_internal_fail(CONCAT('hd_grant_key_app: app ', p_app_id, ' does not belong to tenant ',
                                 v_tenant, ' of key ', p_key_id));
  END IF;
  INSERT INTO key_app_grants (key_id, app_id, tenant_id, created_at)
  VALUES (p_key_id, p_app_id, v_tenant, UTC_TIMESTAMP(6))
  ON DUPLICATE KEY UPDATE key_id = key_id;
END //

-- hd_ungrant_key_app: withdraws app p_app_id from user_token key p_key_id. Effective
-- at once; withdrawing an app that is not granted is harmless.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_ungrant_key_app(IN p_key_id BIGINT UNSIGNED,
                                               IN p_app_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  IF p_key_id IS NULL THEN
    CALL hd_internal_fail('hd_ungrant_key_app: key id is required');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM api_keys WHERE id = p_key_id) THEN
    CALL hd_internal_fail(CONCAT('hd_ungrant_key_app: unknown key ', p_key_id));
  END IF;
  CALL hd_internal_require_app('hd_ungrant_key_app', p_app_id);
  DELETE FROM key_app_grants WHERE key_id = p_key_id AND app_id = p_app_id;
END //

-- hd_revoke_key: revokes key p_key_id: from the moment this commits, every request
-- presenting it is refused. Revoking a revoked key keeps its first revocation time.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_revoke_key(IN p_key_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  IF p_key_id IS NULL THEN
    CALL hd_internal_fail('hd_revoke_key: key id is required');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM api_keys WHERE id = p_key_id) THEN
    CALL hd_internal_fail(CONCAT('hd_revoke_key: unknown key ', p_key_id));
  END IF;
  UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(6)
   WHERE id = p_key_id AND revoked_at IS NULL;
END //

-- ---------------------------------------------------------------------------------
-- App settings
-- ---------------------------------------------------------------------------------

-- hd_internal_app_switch: signals unless p_app_id names an app and p_enabled is 0 or
-- 1. p_proc names the caller in the message.
CREATE OR REPLACE PROCEDURE hd_internal_app_switch(IN p_proc VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_app_id BIGINT UNSIGNED,
                                                   IN p_enabled TINYINT)
  READS SQL DATA
BEGIN
  CALL hd_internal_require_app(p_proc, p_app_id);
  IF p_enabled IS NULL OR p_enabled NOT IN (0, 1) THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': enabled must be 0 or 1, not ',
                                 IFNULL(p_enabled, 'NULL')));
  END IF;
END //

-- hd_internal_app_origin: signals unless p_app_id names an app and p_origin is an
-- origin (see hd_internal_normalize_origin); returns it normalized in p_normalized.
CREATE OR REPLACE PROCEDURE hd_internal_app_origin(IN p_proc VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_app_id BIGINT UNSIGNED,
                                                   IN p_origin VARCHAR(255) CHARACTER SET utf8mb4,
                                                   OUT p_normalized VARCHAR(255) CHARACTER SET utf8mb4)
  READS SQL DATA
BEGIN
  CALL hd_internal_require_app(p_proc, p_app_id);
  SET p_normalized = hd_internal_normalize_origin(p_origin);
  IF p_normalized IS NULL THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': bad origin ''', IFNULL(LEFT(p_origin, 100), 'NULL'),
                                 ''' (want http[s]://host[:port], no path, no trailing slash)'));
  END IF;
END //

-- hd_set_identity_verification: with p_enabled 1, gives app p_app_id a new random
-- identity secret and returns it in p_secret (64 hex characters): from then on,
-- POST /devices must carry user_hash = hex(HMAC-SHA256(secret, app_user_id)), which
-- the app's backend computes for its signed-in user, so a publishable client key can
-- no longer attach devices to users it does not own. Calling it again rotates the
-- secret. With p_enabled 0 the check is off and p_secret is NULL.
CREATE OR REPLACE PROCEDURE hd_set_identity_verification(IN p_app_id BIGINT UNSIGNED,
                                                         IN p_enabled TINYINT,
                                                         OUT p_secret VARCHAR(64))
  MODIFIES SQL DATA
BEGIN
  DECLARE v_secret VARBINARY(32) DEFAULT NULL;
  CALL hd_internal_app_switch('hd_set_identity_verification', p_app_id, p_enabled);
  IF p_enabled = 1 THEN
    SET v_secret = RANDOM_BYTES(32);
  END IF;
  UPDATE apps SET identity_secret = v_secret WHERE id = p_app_id;
  SET p_secret = LOWER(HEX(v_secret));
END //

-- hd_set_quota: sets app p_app_id's send quotas, counted in deliveries (one per
-- device) per UTC clock hour and per UTC day. NULL means unlimited. 0 is refused (it
-- reads as "unlimited" in too many systems; use hd_set_push_enabled to stop sends),
-- and so is a daily quota below the hourly one.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_quota(IN p_app_id BIGINT UNSIGNED,
                                         IN p_hourly INT UNSIGNED,
                                         IN p_daily INT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  CALL hd_internal_require_app('hd_set_quota', p_app_id);
  IF p_hourly = 0 OR p_daily = 0 THEN
    CALL hd_internal_fail('hd_set_quota: a quota must be at least 1 (NULL = unlimited; to stop sends use hd_set_push_enabled)');
  END IF;
  IF p_hourly > p_daily THEN
    CALL hd_internal_fail(CONCAT('hd_set_quota: daily quota ', p_daily, ' is below hourly quota ', p_hourly));
  END IF;
  UPDATE apps SET quota_hourly = p_hourly, quota_daily = p_daily WHERE id = p_app_id;
END //

-- hd_set_dedupe_window: sets how long (p_seconds, 1..86400) a dedupe key of app
-- p_app_id blocks a repeat send. Applies to dedupe records from now on and to the
-- ones already stored (their age is compared with the current window).
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_dedupe_window(IN p_app_id BIGINT UNSIGNED,
                                                 IN p_seconds INT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  CALL hd_internal_require_app('hd_set_dedupe_window', p_app_id);
  IF p_seconds IS NULL OR p_seconds < 1 OR p_seconds > 86400 THEN
    CALL hd_internal_fail(CONCAT('hd_set_dedupe_window: window must be 1..86400 seconds, not ',
                                 IFNULL(p_seconds, 'NULL')));
  END IF;
  UPDATE apps SET dedupe_window_s = p_seconds WHERE id = p_app_id;
END //

-- hd_set_push_enabled: switches sending for app p_app_id on (1) or off (0). While
-- off, herald refuses the app's sends; device registration, inbox reads and
-- administration go on.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_push_enabled(IN p_app_id BIGINT UNSIGNED,
                                                IN p_enabled TINYINT)
  MODIFIES SQL DATA
BEGIN
  CALL hd_internal_app_switch('hd_set_push_enabled', p_app_id, p_enabled);
  UPDATE apps SET push_enabled = p_enabled WHERE id = p_app_id;
END //

-- hd_add_allowed_origin: allows browsers on origin p_origin to register devices for
-- app p_app_id (CORS). p_origin is scheme://host[:port] with scheme http or https, no
-- path and no trailing slash; it is stored lowercased, without a default port (see
-- hd_internal_normalize_origin). Adding an allowed origin again is harmless.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_add_allowed_origin(IN p_app_id BIGINT UNSIGNED,
                                                  IN p_origin VARCHAR(255) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_origin VARCHAR(255) CHARACTER SET utf8mb4;
  CALL hd_internal_app_origin('hd_add_allowed_origin', p_app_id, p_origin, v_origin);
  INSERT INTO app_origins (app_id, origin) VALUES (p_app_id, v_origin)
  ON DUPLICATE KEY UPDATE origin = origin;
END //

-- hd_remove_allowed_origin: withdraws origin p_origin (same form and normalization
-- as hd_add_allowed_origin) from app p_app_id. Signals when the origin is not in the
-- app's list, so that a mistyped origin is not mistaken for a removed one.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_remove_allowed_origin(IN p_app_id BIGINT UNSIGNED,
                                                     IN p_origin VARCHAR(255) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_origin VARCHAR(255) CHARACTER SET utf8mb4;
  CALL hd_internal_app_origin('hd_remove_allowed_origin', p_app_id, p_origin, v_origin);
  DELETE FROM app_origins WHERE app_id = p_app_id AND origin = v_origin;
  IF ROW_COUNT() = 0 THEN
    CALL hd_internal_fail(CONCAT('hd_remove_allowed_origin: origin ''', v_origin,
                                 ''' is not allowed for app ', p_app_id));
  END IF;
END //

-- ---------------------------------------------------------------------------------
-- Housekeeping
-- ---------------------------------------------------------------------------------

-- hd_purge: deletes, app by app, in small batches each committed on its own (so no
-- lock is held for long and replication never sees a huge transaction):
--   1. dedupe records older than their app's dedupe window;
--   2. messages created more than p_older_than_days days ago (1..36500) whose
--      deliveries are all final (delivered, gone, rejected, expired) and were last
--      updated before that cutoff, together with those deliveries. Messages with a
--      queued or sending delivery are kept whole. Inbox messages (source 'inbox')
--      are kept: they are the users' inboxes, removed by their users;
--   3. quota windows (quota_usage) that ended before the cutoff.
-- Because the cutoff is at least one day and a dedupe window at most one day, a
-- purged message is never the target of a live dedupe record.
-- Must be called outside a transaction (it commits after every batch); it can run
-- while herald serves traffic, and running it twice at once is safe.
-- Returns: one row (dedupe_deleted, deliveries_deleted, messages_deleted).
CREATE OR REPLACE PROCEDURE hd_purge(IN p_older_than_days INT)
  MODIFIES SQL DATA
BEGIN
  DECLARE c_msg_batch INT DEFAULT 500;
  DECLARE c_row_batch INT DEFAULT 5000;
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_cutoff DATETIME(6);
  DECLARE v_done TINYINT DEFAULT 0;
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_window INT UNSIGNED;
  DECLARE v_last_ts DATETIME(6);
  DECLARE v_last_id BIGINT UNSIGNED;
  DECLARE v_scanned INT;
  DECLARE v_n INT;
  DECLARE v_dedupe BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_deliveries BIGINT UNSIGNED DEFAULT 0;
  DECLARE v_messages BIGINT UNSIGNED DEFAULT 0;
  DECLARE c_apps CURSOR FOR SELECT id, dedupe_window_s FROM apps ORDER BY id;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = 1;

  IF p_older_than_days IS NULL OR p_older_than_days < 1 OR p_older_than_days > 36500 THEN
    CALL hd_internal_fail(CONCAT('hd_purge: age must be 1..36500 days, not ',
                                 IFNULL(p_older_than_days, 'NULL')));
  END IF;
  IF @@in_transaction THEN
    CALL hd_internal_fail('hd_purge: call it outside a transaction (it commits batch by batch)');
  END IF;
  SET v_cutoff = v_now - INTERVAL p_older_than_days DAY;

  DROP TEMPORARY TABLE IF EXISTS hd_purge_batch;
  CREATE TEMPORARY TABLE hd_purge_batch (
    id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    created_at  DATETIME(6) NOT NULL,
    source      VARCHAR(16) NOT NULL
  ) ENGINE=MEMORY;

  OPEN c_apps;
  app_loop: LOOP
    FETCH c_apps INTO v_app, v_window;
    IF v_done THEN
      LEAVE app_loop;
    END IF;

    -- 1. Expired dedupe records of this app.
    REPEAT
      DELETE FROM dedupe
       WHERE app_id = v_app AND created_at < v_now - INTERVAL v_window SECOND
       LIMIT c_row_batch;
      SET v_n = ROW_COUNT();
      SET v_dedupe = v_dedupe + v_n;
      COMMIT;
    UNTIL v_n < c_row_batch END REPEAT;

    -- 2. Old messages of this app, walked in (created_at, id) order on the index
    --    messages_app_created, c_msg_batch at a time.
    SET v_last_ts = '1000-01-01 00:00:00', v_last_id = 0;
    msg_loop: LOOP
      DELETE FROM hd_purge_batch;
      INSERT INTO hd_purge_batch (id, created_at, source)
        SELECT m.id, m.created_at, m.source
          FROM messages m
         WHERE m.app_id = v_app
           AND m.created_at < v_cutoff
           AND (m.created_at > v_last_ts OR (m.created_at = v_last_ts AND m.id > v_last_id))
         ORDER BY m.created_at, m.id
         LIMIT c_msg_batch;
      SET v_scanned = ROW_COUNT();
      COMMIT;
      IF v_scanned = 0 THEN
        LEAVE msg_loop;
      END IF;
      SELECT created_at, id INTO v_last_ts, v_last_id
        FROM hd_purge_batch ORDER BY created_at DESC, id DESC LIMIT 1;

      -- Keep inbox messages and messages with a delivery still pending or recent.
      DELETE FROM hd_purge_batch WHERE source = 'inbox';
      DELETE FROM hd_purge_batch
       WHERE EXISTS (SELECT 1 FROM deliveries d
                      WHERE d.message_id = hd_purge_batch.id
                        AND (d.state IN ('queued', 'sending') OR d.updated_at >= v_cutoff));

      REPEAT
        DELETE FROM deliveries
         WHERE message_id IN (SELECT id FROM hd_purge_batch)
           AND state IN ('delivered', 'gone', 'rejected', 'expired')
           AND updated_at < v_cutoff
         LIMIT c_row_batch;
        SET v_n = ROW_COUNT();
        SET v_deliveries = v_deliveries + v_n;
        COMMIT;
      UNTIL v_n < c_row_batch END REPEAT;

      DELETE FROM messages
       WHERE id IN (SELECT id FROM hd_purge_batch)
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id);
      SET v_messages = v_messages + ROW_COUNT();
      COMMIT;

      IF v_scanned < c_msg_batch THEN
        LEAVE msg_loop;
      END IF;
    END LOOP msg_loop;
  END LOOP app_loop;
  CLOSE c_apps;

  -- Windows that ended long ago no longer count; a day's window ends a day after it
  -- starts, so anything that started before cutoff - 1 day is over.
  quota_loop: LOOP
    DELETE FROM quota_usage WHERE window_start < v_cutoff - INTERVAL 1 DAY LIMIT 5000;
    SET v_n = ROW_COUNT();
    COMMIT;
    IF v_n < 5000 THEN
      LEAVE quota_loop;
    END IF;
  END LOOP quota_loop;

  DROP TEMPORARY TABLE IF EXISTS hd_purge_batch;
  SELECT v_dedupe AS dedupe_deleted,
         v_deliveries AS deliveries_deleted,
         v_messages AS messages_deleted;
END //

DELIMITER ;

-- ---------------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------------

-- hd_app_usage: one row per app and UTC day on which the app created messages.
-- messages: messages created that day; deliveries: deliveries of those messages (a
-- send stores its message and deliveries in one transaction, so they share the day);
-- delivered / gone / rejected / expired: those deliveries by final state now;
-- pending: those still queued or sending. Filter on app_id, app_uid or day: the
-- condition is pushed into the grouping.
CREATE OR REPLACE VIEW hd_app_usage AS
SELECT a.tenant_id                                                  AS tenant_id,
       m.app_id                                                     AS app_id,
       a.uid                                                        AS app_uid,
       a.name                                                       AS app_name,
       DATE(m.created_at)                                           AS day,
       COUNT(DISTINCT m.id)                                         AS messages,
       COUNT(d.id)                                                  AS deliveries,
       CAST(COALESCE(SUM(d.state = 'delivered'), 0) AS UNSIGNED)    AS delivered,
       CAST(COALESCE(SUM(d.state = 'gone'), 0) AS UNSIGNED)         AS gone,
       CAST(COALESCE(SUM(d.state = 'rejected'), 0) AS UNSIGNED)     AS rejected,
       CAST(COALESCE(SUM(d.state = 'expired'), 0) AS UNSIGNED)      AS expired,
       CAST(COALESCE(SUM(d.state IN ('queued', 'sending')), 0) AS UNSIGNED) AS pending
  FROM messages m
  JOIN apps a ON a.id = m.app_id
  LEFT JOIN deliveries d ON d.message_id = m.id
 GROUP BY a.tenant_id, m.app_id, a.uid, a.name, DATE(m.created_at);

-- hd_delivery_stats: one row per app and campaign (messages.campaign; NULL groups
-- the messages sent without one), with the same counts as hd_app_usage over all
-- stored messages, and the first and last message time.
CREATE OR REPLACE VIEW hd_delivery_stats AS
SELECT a.tenant_id                                                  AS tenant_id,
       m.app_id                                                     AS app_id,
       a.uid                                                        AS app_uid,
       a.name                                                       AS app_name,
       m.campaign                                                   AS campaign,
       MIN(m.created_at)                                            AS first_message_at,
       MAX(m.created_at)                                            AS last_message_at,
       COUNT(DISTINCT m.id)                                         AS messages,
       COUNT(d.id)                                                  AS deliveries,
       CAST(COALESCE(SUM(d.state = 'delivered'), 0) AS UNSIGNED)    AS delivered,
       CAST(COALESCE(SUM(d.state = 'gone'), 0) AS UNSIGNED)         AS gone,
       CAST(COALESCE(SUM(d.state = 'rejected'), 0) AS UNSIGNED)     AS rejected,
       CAST(COALESCE(SUM(d.state = 'expired'), 0) AS UNSIGNED)      AS expired,
       CAST(COALESCE(SUM(d.state IN ('queued', 'sending')), 0) AS UNSIGNED) AS pending
  FROM messages m
  JOIN apps a ON a.id = m.app_id
  LEFT JOIN deliveries d ON d.message_id = m.id
 GROUP BY a.tenant_id, m.app_id, a.uid, a.name, m.campaign;

-- hd_keys: every key without its hash. app_uid is NULL for user_token keys (see
-- hd_key_grants for their apps); app_user_uid / app_user_external_id are set for
-- bearer keys bound to a user. active = 1 until the key is revoked.
CREATE OR REPLACE VIEW hd_keys AS
SELECT k.id                                  AS id,
       k.kind                                AS kind,
       k.tenant_id                           AS tenant_id,
       t.name                                AS tenant_name,
       k.app_id                              AS app_id,
       a.uid                                 AS app_uid,
       u.uid                                 AS app_user_uid,
       u.external_id                         AS app_user_external_id,
       k.label                               AS label,
       k.created_at                          AS created_at,
       k.revoked_at                          AS revoked_at,
       CAST(k.revoked_at IS NULL AS UNSIGNED) AS active
  FROM api_keys k
  JOIN tenants t ON t.id = k.tenant_id
  LEFT JOIN apps a ON a.id = k.app_id
  LEFT JOIN app_users u ON u.id = k.app_user_id;

-- hd_key_grants: the apps each user_token key is granted (hd_grant_key_app).
CREATE OR REPLACE VIEW hd_key_grants AS
SELECT g.key_id                               AS key_id,
       g.tenant_id                            AS tenant_id,
       g.app_id                               AS app_id,
       a.uid                                  AS app_uid,
       a.name                                 AS app_name,
       g.created_at                           AS granted_at,
       CAST(k.revoked_at IS NULL AS UNSIGNED) AS key_active
  FROM key_app_grants g
  JOIN api_keys k ON k.id = g.key_id
  JOIN apps a ON a.id = g.app_id;
