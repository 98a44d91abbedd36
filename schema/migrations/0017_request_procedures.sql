-- herald schema, migration 17: every statement of the request path is a procedure.
--
-- The FastCGI programs parse untrusted input from the internet, so their database
-- account (the role <database>_web that herald-migrate grants, schema/grants) may only
-- EXECUTE a listed set of procedures: it can read no table, key hash or credential and
-- write nothing directly. The statements the programs and the worker still ran as
-- plain SQL move here unchanged in what they read and write:
--   * request checks: CORS origins, the rate limit's housekeeping, a user token's app
--     grant, the queue backlog, an app's identity secret;
--   * resources: device registration and removal (each one transaction, as before),
--     the webpush dialect's clients, service and quota reads;
--   * synchronous answers: the audience and webpush outcome reports and the count of
--     deliveries a send still waits for;
--   * the worker's read of an app's provider credentials (role <database>_worker).
-- String parameters compared with a column carry that column's collation: a routine's
-- parameter is not coercible the way a bound statement parameter is.

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

DELIMITER //

-- hd_origin_allowed: whether browser origin p_origin is allowed for app p_app_id, or,
-- with p_app_id NULL (a preflight, which carries no key), for any app.
-- Returns: zero or one row (1).
CREATE OR REPLACE PROCEDURE hd_origin_allowed(IN p_app_id BIGINT UNSIGNED,
                                              IN p_origin VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin)
  READS SQL DATA
BEGIN
  IF p_app_id IS NULL THEN
    SELECT 1 FROM app_origins WHERE origin = p_origin LIMIT 1;
  ELSE
    SELECT 1 FROM app_origins WHERE app_id = p_app_id AND origin = p_origin;
  END IF;
END //

-- hd_prune_rate_limit: drops the per-address counters of seconds long past.
-- Returns: one row (rows deleted).
CREATE OR REPLACE PROCEDURE hd_prune_rate_limit()
  MODIFIES SQL DATA
BEGIN
  DELETE FROM rate_limit WHERE sec < UNIX_TIMESTAMP() - 10;
  SELECT ROW_COUNT();
END //

-- hd_key_app_grant: app p_app_uid of tenant p_tenant_id as tenant key p_key_id sees
-- it. The tenant condition keeps another tenant's apps invisible: they answer as
-- unknown.
-- Returns: zero or one row (id, uid, dedupe_window_s, push_enabled, quota_hourly,
-- quota_daily, granted to this key 0/1, this key has any grant 0/1).
CREATE OR REPLACE PROCEDURE hd_key_app_grant(IN p_key_id BIGINT UNSIGNED,
                                             IN p_app_uid VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
                                             IN p_tenant_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT a.id, a.uid, a.dedupe_window_s, a.push_enabled, a.quota_hourly, a.quota_daily,
         EXISTS (SELECT 1 FROM key_app_grants g WHERE g.key_id = p_key_id AND g.app_id = a.id),
         EXISTS (SELECT 1 FROM key_app_grants g WHERE g.key_id = p_key_id)
    FROM apps a WHERE a.uid = p_app_uid AND a.tenant_id = p_tenant_id;
END //

-- hd_backlog_due: the queue's due deliveries as a worker last measured them, if that
-- was within the last p_fresh_s seconds.
-- Returns: zero or one row (due).
CREATE OR REPLACE PROCEDURE hd_backlog_due(IN p_fresh_s INT)
  READS SQL DATA
BEGIN
  SELECT due FROM queue_backlog WHERE id = 1 AND measured_at > NOW(6) - INTERVAL p_fresh_s SECOND;
END //

-- hd_app_identity_secret: app p_app_id's identity-verification secret.
-- Returns: zero or one row (identity_secret, NULL when verification is off).
CREATE OR REPLACE PROCEDURE hd_app_identity_secret(IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT identity_secret FROM apps WHERE id = p_app_id;
END //

-- hd_register_device: registers a device of app p_app_id for the app user whose own
-- id is p_external_id, in one transaction: the user is created with uid p_user_uid
-- if new (a registration may give a user an email, never change one: sends can
-- target users by email), then the device is stored with uid p_device_uid, or, if
-- the app has its token already, updated and made active again.
-- Returns: one row (device uid, app user id, created 0/1).
CREATE OR REPLACE PROCEDURE hd_register_device(
    IN p_app_id BIGINT UNSIGNED,
    IN p_user_uid CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_external_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_email VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci,
    IN p_device_uid CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_platform VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_token VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_token_hash BINARY(32),
    IN p_p256dh VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_auth_secret VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_push_permission TINYINT,
    IN p_info TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_idfa VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_idfv VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_advertising_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_android_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_serial_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_user BIGINT UNSIGNED;
  DECLARE v_device BIGINT UNSIGNED;
  DECLARE v_rows INT;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  START TRANSACTION;
  -- id = LAST_INSERT_ID(id) makes the insert id name the row whether it was inserted
  -- or already there.
  INSERT INTO app_users (uid, app_id, external_id, email)
    VALUES (p_user_uid, p_app_id, p_external_id, p_email)
    ON DUPLICATE KEY UPDATE email = COALESCE(email, VALUES(email)), id = LAST_INSERT_ID(id);
  SET v_user = LAST_INSERT_ID();
  INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, p256dh,
                       auth_secret, push_permission, info, idfa, idfv, advertising_id,
                       android_id, serial_id)
    VALUES (p_device_uid, p_app_id, v_user, p_platform, p_token, p_token_hash, p_p256dh,
            p_auth_secret, p_push_permission, p_info, p_idfa, p_idfv, p_advertising_id,
            p_android_id, p_serial_id)
    ON DUPLICATE KEY UPDATE app_user_id = VALUES(app_user_id),
      idfa = VALUES(idfa), idfv = VALUES(idfv), advertising_id = VALUES(advertising_id),
      android_id = VALUES(android_id), serial_id = VALUES(serial_id),
      platform = VALUES(platform), token = VALUES(token), p256dh = VALUES(p256dh),
      auth_secret = VALUES(auth_secret), push_permission = VALUES(push_permission),
      info = COALESCE(VALUES(info), info), status = 'active',
      last_active_at = NOW(6), id = LAST_INSERT_ID(id);
  SET v_rows = ROW_COUNT();
  SET v_device = LAST_INSERT_ID();
  COMMIT;
  SELECT uid, v_user, v_rows = 1 FROM devices WHERE id = v_device;
END //

-- hd_delete_device: removes device p_uid of app p_app_id (only if its platform is
-- p_platform, unless that is NULL) with its deliveries still queued, in one
-- transaction.
-- Returns: one row (devices deleted, 0 or 1).
CREATE OR REPLACE PROCEDURE hd_delete_device(
    IN p_app_id BIGINT UNSIGNED,
    IN p_uid VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_platform VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_deleted INT;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

  START TRANSACTION;
  DELETE dl FROM deliveries dl JOIN devices d ON d.id = dl.device_id
   WHERE d.app_id = p_app_id AND d.uid = p_uid
     AND (p_platform IS NULL OR d.platform = p_platform) AND dl.state = 'queued';
  DELETE FROM devices
   WHERE app_id = p_app_id AND uid = p_uid AND (p_platform IS NULL OR platform = p_platform);
  SET v_deleted = ROW_COUNT();
  COMMIT;
  SELECT v_deleted;
END //

-- The webpush dialect's client (a web device) columns: registration uid, status,
-- push_permission, the user's email, last_active_at, created_at, the first 4096
-- characters of its info, and its deliveries that reached it (as long as hd_purge
-- keeps them).

-- hd_web_clients: one page of app p_app_id's web clients, oldest first: p_limit rows
-- after the first p_offset, only client p_uid, those with status p_status and those
-- whose user has email p_email (each NULL: any).
-- Returns: rows (the client columns).
CREATE OR REPLACE PROCEDURE hd_web_clients(
    IN p_app_id BIGINT UNSIGNED,
    IN p_uid CHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_status VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_email VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci,
    IN p_limit BIGINT UNSIGNED,
    IN p_offset BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT d.uid, d.status, d.push_permission, u.email, d.last_active_at, d.created_at,
         LEFT(d.info, 4096),
         (SELECT COUNT(*) FROM deliveries dl WHERE dl.device_id = d.id AND dl.state = 'delivered')
    FROM devices d JOIN app_users u ON u.id = d.app_user_id
   WHERE d.app_id = p_app_id AND d.platform = 'web' AND (p_uid IS NULL OR d.uid = p_uid)
     AND (p_status IS NULL OR d.status = p_status) AND (p_email IS NULL OR u.email = p_email)
   ORDER BY d.id LIMIT p_limit OFFSET p_offset;
END //

-- hd_web_clients_total: how many clients hd_web_clients pages through (any uid).
-- Returns: one row (count).
CREATE OR REPLACE PROCEDURE hd_web_clients_total(
    IN p_app_id BIGINT UNSIGNED,
    IN p_status VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_email VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_nopad_ci)
  READS SQL DATA
BEGIN
  SELECT COUNT(*) FROM devices d JOIN app_users u ON u.id = d.app_user_id
   WHERE d.app_id = p_app_id AND d.platform = 'web'
     AND (p_status IS NULL OR d.status = p_status) AND (p_email IS NULL OR u.email = p_email);
END //

-- hd_web_service: app p_app_id as the webpush dialect's service. The public half of
-- the VAPID key comes from the view hd_webpush_vapid, never from app_credentials.
-- active_registrations: web devices whose subscription is active; push_subscribers:
-- users with at least one of those that also has push permission (whom a send to all
-- clients reaches).
-- Returns: zero or one row (uid, name, push_enabled, quota_hourly, quota_daily, the
-- VAPID subject's email or NULL, the VAPID public key, has VAPID 0/1,
-- active_registrations, push_subscribers).
CREATE OR REPLACE PROCEDURE hd_web_service(IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT a.uid, a.name, a.push_enabled, a.quota_hourly, a.quota_daily,
         IF(v.subject LIKE 'mailto:%', SUBSTRING(v.subject, 8), NULL), v.public_key,
         v.app_id IS NOT NULL,
         (SELECT COUNT(*) FROM devices d WHERE d.app_id = a.id AND d.platform = 'web'
             AND d.status = 'active'),
         (SELECT COUNT(DISTINCT d.app_user_id) FROM devices d WHERE d.app_id = a.id
             AND d.platform = 'web' AND d.status = 'active' AND d.push_permission = 1)
    FROM apps a LEFT JOIN hd_webpush_vapid v ON v.app_id = a.id WHERE a.id = p_app_id;
END //

-- hd_app_quota_state: app p_app_id's quotas and what hd_queue_message has charged in
-- the current UTC hour and day by the database's clock (UTC_TIMESTAMP() is the
-- statement's start, one instant). A window without a row has nothing charged.
-- Returns: zero or one row (quota_hourly, quota_daily, used this hour, used today,
-- the hour's end, the day's end).
CREATE OR REPLACE PROCEDURE hd_app_quota_state(IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT a.quota_hourly, a.quota_daily,
         (SELECT used FROM quota_usage q WHERE q.app_id = a.id AND q.period = 'hour'
             AND q.window_start = DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00')),
         (SELECT used FROM quota_usage q WHERE q.app_id = a.id AND q.period = 'day'
             AND q.window_start = DATE(UTC_TIMESTAMP())),
         CAST(DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00') AS DATETIME) + INTERVAL 1 HOUR,
         CAST(DATE(UTC_TIMESTAMP()) AS DATETIME) + INTERVAL 1 DAY
    FROM apps a WHERE a.id = p_app_id;
END //

-- hd_audience_outcomes: the deliveries of message p_message_id of app p_app_id, in
-- the order they were made.
-- Returns: rows (platform, token, state, reason).
CREATE OR REPLACE PROCEDURE hd_audience_outcomes(IN p_message_id BIGINT UNSIGNED,
                                                 IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT d.platform, d.token, dl.state, dl.reason FROM deliveries dl
    JOIN devices d ON d.id = dl.device_id
   WHERE dl.message_id = p_message_id AND dl.app_id = p_app_id ORDER BY dl.id;
END //

-- hd_audience_reach: why a send of app p_app_id reached nobody: whether the app has
-- any device, and any active one with push permission.
-- Returns: one row (has devices 0/1, has pushable devices 0/1).
CREATE OR REPLACE PROCEDURE hd_audience_reach(IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT EXISTS (SELECT 1 FROM devices WHERE app_id = p_app_id),
         EXISTS (SELECT 1 FROM devices WHERE app_id = p_app_id AND status = 'active'
                    AND push_permission = 1);
END //

-- hd_webpush_outcomes: the deliveries of message p_message_id, in the order they were
-- made.
-- Returns: rows (state, device uid).
CREATE OR REPLACE PROCEDURE hd_webpush_outcomes(IN p_message_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT dl.state, d.uid FROM deliveries dl JOIN devices d ON d.id = dl.device_id
   WHERE dl.message_id = p_message_id ORDER BY dl.id;
END //

-- hd_message_unfinished: how many deliveries of message p_message_id a worker holds
-- now (sending), and, with p_untried, also those queued and not yet tried: what a
-- synchronous answer still waits for.
-- Returns: one row (count).
CREATE OR REPLACE PROCEDURE hd_message_unfinished(IN p_message_id BIGINT UNSIGNED,
                                                  IN p_untried TINYINT)
  READS SQL DATA
BEGIN
  SELECT COUNT(*) FROM deliveries
   WHERE message_id = p_message_id
     AND (state = 'sending' OR (p_untried AND state = 'queued' AND attempts = 0));
END //

-- hd_app_credentials: app p_app_id's provider credentials, as a deliverer reads them
-- (role <database>_worker only: they hold the private keys, sealed or, until a
-- worker's next pass, in plain text).
-- Returns: rows (provider, apns_auth, team_id, key_id, private_key_pem,
-- apns_key_fingerprint, certificate_pem, topic, sandbox, project_id, client_email,
-- token_uri, subject, client_id, client_secret, sealed, sealed_key_id).
CREATE OR REPLACE PROCEDURE hd_app_credentials(IN p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  SELECT provider, apns_auth, team_id, key_id, private_key_pem, apns_key_fingerprint,
         certificate_pem, topic, sandbox, project_id, client_email, token_uri, subject,
         client_id, client_secret, sealed, sealed_key_id
    FROM app_credentials WHERE app_id = p_app_id;
END //

DELIMITER ;
