-- herald schema, migration 9: what the webpush dialect (seed 004, docs/webpush.md)
-- reads, besides the send path.
--
--   * hd_admit_kinds: hd_admit, and the kind of a key that matched but is of another
--     kind than the endpoint's, so that the webpush dialect can answer 403 FORBIDDEN
--     for a valid herald key of the wrong kind and 401 for an unknown one, in the same
--     round trip. The other dialects keep answering 401 for both. hd_admit (0003)
--     stays, with the same answers, for programs built before this migration; both
--     count requests through hd_internal_count_request.
--   * hd_internal_vapid_public_key and the view hd_webpush_vapid: an app's VAPID
--     public key (the applicationServerKey browsers subscribe with), derived from the
--     stored private key, so that the web programs read the public half through a
--     view and never the table that holds private keys.
--   * devices_app_platform: the webpush dialect lists and counts an app's web devices.
--   * hd_quota_plans and hd_set_quota_plan: the seed's plan tiers as named quota
--     presets for hd_set_quota.
--
-- Conventions are 0002_admin.sql's. Safe to apply again.

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

ALTER TABLE devices ADD INDEX IF NOT EXISTS devices_app_platform (app_id, platform, status);

-- The seed's plans: deliveries per UTC hour and per UTC day.
CREATE OR REPLACE VIEW hd_quota_plans AS
SELECT 'starter' AS plan, 100 AS hourly, 1000 AS daily
UNION ALL SELECT 'professional', 1000, 10000
UNION ALL SELECT 'scale', 10000, 100000;

DELIMITER //

-- hd_internal_count_request: counts one request from p_addr against the per-second
-- limit p_limit (0 = no limit, nothing counted). Returns in p_hits the hits of the
-- current second (0 when not counted; NULL when the rate_limit table is full, and the
-- request is then admitted uncounted).
CREATE OR REPLACE PROCEDURE hd_internal_count_request(IN p_addr VARBINARY(16),
                                                      IN p_limit INT UNSIGNED,
                                                      OUT p_hits INT UNSIGNED)
BEGIN
  DECLARE v_hits INT UNSIGNED DEFAULT 0;
  -- A full table must not lock every client out: count nothing until rows expire.
  DECLARE CONTINUE HANDLER FOR 1114 SET v_hits = NULL;
  IF p_limit > 0 THEN
    -- LAST_INSERT_ID(expr) carries this request's own count out of the upsert, so a
    -- concurrent request's increment can never be read as ours.
    INSERT INTO rate_limit (addr, sec, hits) VALUES (p_addr, UNIX_TIMESTAMP(), 1)
      ON DUPLICATE KEY UPDATE
        hits = LAST_INSERT_ID(IF(sec = UNIX_TIMESTAMP(), hits + 1, 1)),
        sec = UNIX_TIMESTAMP();
    IF v_hits IS NOT NULL THEN
      SET v_hits = IF(ROW_COUNT() = 1, 1, LAST_INSERT_ID());
    END IF;
  END IF;
  SET p_hits = v_hits;
END //

-- hd_admit: as in 0003_request_path.sql, its count now shared with hd_admit_kinds.
-- Replaced in one statement, so that programs calling it never find it missing.
CREATE OR REPLACE PROCEDURE hd_admit(IN p_addr VARBINARY(16), IN p_limit INT UNSIGNED,
                          IN p_key_hash BINARY(32), IN p_kind VARCHAR(16))
BEGIN
  DECLARE v_hits INT UNSIGNED;
  CALL hd_internal_count_request(p_addr, p_limit, v_hits);
  IF p_key_hash IS NULL OR (p_limit > 0 AND COALESCE(v_hits > p_limit, FALSE)) THEN
    SELECT v_hits, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
  ELSE
    SELECT v_hits, k.id, k.tenant_id, k.app_id, k.app_user_id, a.uid, a.dedupe_window_s,
           a.push_enabled, a.quota_hourly, a.quota_daily
      FROM (SELECT 1) one
      LEFT JOIN api_keys k ON k.key_hash = p_key_hash AND k.kind = p_kind
                           AND k.revoked_at IS NULL
      LEFT JOIN apps a ON a.id = k.app_id;
  END IF;
END //

-- hd_admit_kinds: hd_admit with one more column at the end: when no active key of
-- kind p_kind has hash p_key_hash but an active key of another kind has, that key's
-- kind; else NULL. The key columns stay NULL for such a key, so it authorizes nothing.
CREATE OR REPLACE PROCEDURE hd_admit_kinds(IN p_addr VARBINARY(16), IN p_limit INT UNSIGNED,
                                           IN p_key_hash BINARY(32), IN p_kind VARCHAR(16))
BEGIN
  DECLARE v_hits INT UNSIGNED;
  CALL hd_internal_count_request(p_addr, p_limit, v_hits);
  IF p_key_hash IS NULL OR (p_limit > 0 AND COALESCE(v_hits > p_limit, FALSE)) THEN
    SELECT v_hits, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL;
  ELSE
    -- key_hash is unique: at most one of k and o matches.
    SELECT v_hits, k.id, k.tenant_id, k.app_id, k.app_user_id, a.uid, a.dedupe_window_s,
           a.push_enabled, a.quota_hourly, a.quota_daily, o.kind
      FROM (SELECT 1) one
      LEFT JOIN api_keys k ON k.key_hash = p_key_hash AND k.kind = p_kind
                           AND k.revoked_at IS NULL
      LEFT JOIN apps a ON a.id = k.app_id
      LEFT JOIN api_keys o ON o.key_hash = p_key_hash AND o.kind <> p_kind
                           AND o.revoked_at IS NULL;
  END IF;
END //

-- hd_internal_vapid_public_key: the public key of p_pem, a PEM P-256 private key as
-- hd_set_vapid_key stores it (PKCS#8 "PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"), as the
-- unpadded base64url of the 65-byte uncompressed point (RFC 8291 §3.1, the form
-- PushManager.subscribe takes as applicationServerKey). The point is the optional
-- publicKey [1] that ends an ECPrivateKey (RFC 5915 §3): a1 44 03 42 00 04 X Y, the
-- last 70 bytes of the DER. OpenSSL and every library built on it write it; a key
-- written without it (openssl ec -no_public), or of another curve, gives NULL.
-- Returns: VARCHAR(87) or NULL.
CREATE OR REPLACE FUNCTION hd_internal_vapid_public_key(p_pem TEXT CHARACTER SET utf8mb4)
  RETURNS VARCHAR(87) CHARACTER SET ascii
  DETERMINISTIC NO SQL
BEGIN
  DECLARE v_body TEXT CHARACTER SET utf8mb4;
  DECLARE v_der BLOB;
  DECLARE v_start INT;
  IF p_pem IS NULL THEN
    RETURN NULL;
  END IF;
  SET v_start = LOCATE('PRIVATE KEY-----', p_pem);
  IF v_start = 0 THEN
    RETURN NULL;
  END IF;
  SET v_body = SUBSTRING(p_pem, v_start + 16);
  SET v_body = LEFT(v_body, LOCATE('-----END', v_body) - 1);
  SET v_der = FROM_BASE64(REGEXP_REPLACE(v_body, '[[:space:]]', ''));
  -- P-256 is the only curve VAPID signs with (RFC 8292 §3.2: ES256).
  IF v_der IS NULL OR LENGTH(v_der) < 70
     OR LOCATE(UNHEX('06082A8648CE3D030107'), v_der) = 0
     OR LEFT(RIGHT(v_der, 70), 6) <> UNHEX('A14403420004') THEN
    RETURN NULL;
  END IF;
  RETURN REPLACE(REPLACE(REPLACE(REPLACE(TO_BASE64(RIGHT(v_der, 65)),
                                         '\n', ''), '+', '-'), '/', '_'), '=', '');
END //

-- hd_set_quota_plan: sets app p_app_id's quotas to those of plan p_plan (a name of
-- hd_quota_plans: starter, professional or scale), as hd_set_quota would.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_quota_plan(IN p_app_id BIGINT UNSIGNED,
                                              IN p_plan VARCHAR(32) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_hourly INT UNSIGNED;
  DECLARE v_daily INT UNSIGNED;
  CALL hd_internal_require_app('hd_set_quota_plan', p_app_id);
  SELECT hourly, daily INTO v_hourly, v_daily FROM hd_quota_plans
   WHERE plan = CAST(p_plan AS BINARY);
  IF v_hourly IS NULL THEN
    CALL hd_internal_fail(CONCAT('hd_set_quota_plan: unknown plan ''', IFNULL(LEFT(p_plan, 32), 'NULL'),
                                 ''' (want starter, professional or scale)'));
  END IF;
  CALL hd_set_quota(p_app_id, v_hourly, v_daily);
END //

DELIMITER ;

-- hd_webpush_vapid: per app with a VAPID key, its subject (mailto: or https:) and its
-- public key (NULL when it cannot be derived, see hd_internal_vapid_public_key). The
-- web programs read this, never app_credentials.
CREATE OR REPLACE VIEW hd_webpush_vapid AS
SELECT c.app_id                                         AS app_id,
       c.subject                                        AS subject,
       hd_internal_vapid_public_key(c.private_key_pem)  AS public_key
  FROM app_credentials c
 WHERE c.provider = 'webpush';
