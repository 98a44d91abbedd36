-- herald schema, migration 4: delivery.
--
-- What the delivery engine (lib/, used by herald-worker and by the synchronous
-- dialects) needs from the database, and what operators need to feed and watch it:
--   * messages.extras: the neutral notification's further fields, one JSON object;
--   * deliveries: claim leases (lease_owner, lease_until), last_attempt_at, and a
--     claim index read in priority-then-due order;
--   * delivery_attempts: one row per attempt and its outcome;
--   * app_credentials: each app's provider credentials (APNs, FCM, Web Push, WNS);
--   * provider_tokens: the current APNs provider token per (team, key), shared by
--     every process on every host;
--   * the engine's calls hd_claim_deliveries, hd_finish_delivery and
--     hd_share_provider_token;
--   * administration: hd_set_apns_token_auth, hd_set_apns_certificate_auth,
--     hd_set_fcm_service_account, hd_set_vapid_key, hd_set_wns_credentials,
--     hd_remove_credentials, and the views hd_credentials, hd_queue and
--     hd_delivery_attempts (docs/admin.md);
--   * hd_purge, re-created to delete attempt records with their deliveries.
--
-- The claim/lease protocol (docs/schema.md):
--   A worker is named by a random id (p_owner). hd_claim_deliveries takes due queued
--   deliveries, and sending ones whose lease ran out (their worker crashed or hung),
--   with FOR UPDATE SKIP LOCKED, so that concurrent claims on any number of hosts
--   never take one row twice; it commits them as 'sending' under the owner with a
--   lease. The worker sends, then reports each outcome with hd_finish_delivery,
--   which applies it only while the row is still 'sending' under that owner: a
--   worker whose lease was taken over gets 'lost' and changes nothing.
--
-- Conventions are 0002_admin.sql's: misuse is refused with SQLSTATE '45000' and a
-- message starting with the routine's name; times are UTC (UTC_TIMESTAMP(6), which
-- is NOW(6) on herald's connections, whose time_zone is '+00:00'); routines named
-- hd_internal_* are helpers. Safe to apply again (IF NOT EXISTS / CREATE OR REPLACE).

SET NAMES utf8mb4;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER';

-- ---------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------

-- subtitle, badge, image, icon, url, actions, category, thread_id, collapse_id,
-- interruption, content_available, mutable_content and per-provider raw overrides:
-- fields few messages carry and only the engine reads, so one JSON object rather
-- than a column each.
ALTER TABLE messages
  ADD COLUMN IF NOT EXISTS extras TEXT NULL CHECK (JSON_VALID(extras)) AFTER sound;

-- Claims read deliveries_claim one due_at range per priority, highest first (see
-- hd_claim_deliveries); deliveries_lease finds the sending rows whose lease ran out
-- without reading the ones in flight. lease_until is NULL whenever no lease is held.
ALTER TABLE deliveries
  ADD COLUMN IF NOT EXISTS last_attempt_at DATETIME(6) NULL AFTER attempts,
  ADD COLUMN IF NOT EXISTS lease_owner CHAR(32) NULL AFTER lease_until,
  DROP INDEX IF EXISTS deliveries_claim,
  ADD INDEX deliveries_claim (state, priority DESC, due_at),
  ADD INDEX IF NOT EXISTS deliveries_lease (state, lease_until);

-- One row per attempt: what the provider answered each time. attempt is
-- deliveries.attempts as the claim that made the attempt set it.
CREATE TABLE IF NOT EXISTS delivery_attempts (
  delivery_id      BIGINT UNSIGNED NOT NULL,
  attempt          INT UNSIGNED NOT NULL,
  started_at       DATETIME(6) NOT NULL,
  finished_at      DATETIME(6) NOT NULL,
  outcome          ENUM('delivered','retry','gone','rejected') NOT NULL,
  provider_status  SMALLINT NULL,
  reason           VARCHAR(255) NULL,
  PRIMARY KEY (delivery_id, attempt),
  -- A delivery removed by any path (DELETE /devices, hd_purge) takes its history along.
  CONSTRAINT delivery_attempts_delivery_fk FOREIGN KEY (delivery_id)
    REFERENCES deliveries (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- An app's credentials, one row per provider, written by the hd_set_* procedures
-- below. Which columns a row uses depends on the provider:
--   apns   token auth: team_id, key_id, private_key_pem (.p8), topic, sandbox;
--          certificate auth: certificate_pem, private_key_pem, topic, sandbox
--   fcm    project_id, client_email, private_key_pem, token_uri (service account)
--   webpush subject, private_key_pem (VAPID key)
--   wns    client_id, client_secret
-- Private keys and client secrets are stored as given: grant SELECT on this table to
-- no one but herald (operators read hd_credentials). The engine reloads an app's
-- credentials when MAX(updated_at) of its rows changes.
CREATE TABLE IF NOT EXISTS app_credentials (
  app_id           BIGINT UNSIGNED NOT NULL,
  provider         ENUM('apns','fcm','webpush','wns') NOT NULL,
  apns_auth        ENUM('token','certificate') NULL,
  team_id          VARCHAR(64) NULL,
  key_id           VARCHAR(64) NULL,
  private_key_pem  TEXT NULL,
  certificate_pem  TEXT NULL,
  topic            VARCHAR(255) NULL,
  sandbox          TINYINT(1) NOT NULL DEFAULT 0,
  project_id       VARCHAR(255) NULL,
  client_email     VARCHAR(255) NULL,
  token_uri        VARCHAR(1024) NULL,
  subject          VARCHAR(255) NULL,
  client_id        VARCHAR(255) NULL,
  client_secret    VARCHAR(255) NULL,
  updated_at       DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (app_id, provider),
  CONSTRAINT app_credentials_app_fk FOREIGN KEY (app_id) REFERENCES apps (id) ON DELETE CASCADE,
  CONSTRAINT app_credentials_apns_auth CHECK ((provider = 'apns') = (apns_auth IS NOT NULL)),
  CONSTRAINT app_credentials_sandbox CHECK (sandbox IN (0, 1))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The current APNs provider token (a signed JWT) per team (issuer) and key. Apple
-- counts token refreshes per team across all connections and refuses them when they
-- come too often, so every process and host uses the one stored here, and
-- hd_share_provider_token decides atomically whose new token replaces it.
CREATE TABLE IF NOT EXISTS provider_tokens (
  issuer     VARCHAR(255) NOT NULL,
  key_id     VARCHAR(64) NOT NULL,
  token      TEXT NOT NULL,
  issued_at  DATETIME(6) NOT NULL,
  PRIMARY KEY (issuer, key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

DELIMITER //

-- ---------------------------------------------------------------------------------
-- The delivery engine's calls
-- ---------------------------------------------------------------------------------

-- hd_claim_deliveries: claims up to p_limit (1..100000) deliveries for worker
-- p_owner (a random id of at most 32 characters), in one transaction that it commits
-- itself (so it refuses to run inside one). Candidates are queued deliveries that
-- are due and sending ones whose lease has run out, highest priority first, then
-- the longest due; with p_message_id only that message's (a synchronous send), else
-- any. Rows locked by a concurrent claim are skipped, never taken twice. Of the
-- candidates:
--   * those whose message expired (ttl_s > 0 and schedule_at + ttl_s is past)
--     become 'expired';
--   * those whose device is gone (no row, status not 'active', no push permission)
--     become 'gone';
--   * the rest become 'sending' under p_owner with a lease of p_lease_s (1..86400)
--     seconds, one more attempt and last_attempt_at now.
-- Returns one result set, after the commit, with a row per delivery now sending for
-- p_owner from this claim, highest priority first: delivery_id, attempt (the new
-- attempts count), app_id, platform, token, p256dh, auth_secret, title, body, data,
-- sound, priority, expires_at (schedule_at + ttl_s; NULL without a TTL), extras,
-- creds_updated_at (latest app_credentials.updated_at of the app, NULL when none).
-- A deadlock (Galera: a certification conflict) is retried here up to 5 times; only
-- then does it reach the caller as error 1213, with nothing claimed.
CREATE OR REPLACE PROCEDURE hd_claim_deliveries(IN p_owner CHAR(32),
                                                IN p_lease_s INT,
                                                IN p_limit INT,
                                                IN p_message_id BIGINT UNSIGNED)
  MODIFIES SQL DATA
BEGIN
  DECLARE c_max_tries INT DEFAULT 5;
  DECLARE v_tries INT DEFAULT 0;
  DECLARE v_now DATETIME(6);
  DECLARE v_extra INT;

  IF p_owner IS NULL OR TRIM(p_owner) = '' THEN
    CALL hd_internal_fail('hd_claim_deliveries: owner must not be empty');
  END IF;
  IF p_lease_s IS NULL OR p_lease_s < 1 OR p_lease_s > 86400 THEN
    CALL hd_internal_fail(CONCAT('hd_claim_deliveries: lease must be 1..86400 seconds, not ',
                                 IFNULL(p_lease_s, 'NULL')));
  END IF;
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
    CALL hd_internal_fail(CONCAT('hd_claim_deliveries: limit must be 1..100000, not ',
                                 IFNULL(p_limit, 'NULL')));
  END IF;
  IF @@in_transaction THEN
    CALL hd_internal_fail('hd_claim_deliveries: call it outside a transaction (it commits its claim)');
  END IF;

  -- Kept for the connection's life: a claim runs thousands of times a minute, and a
  -- MEMORY temporary table is private to the connection and never replicated.
  -- hd_claim_batch: the rows locked; hd_claim_fate: what becomes of them, 0 sending,
  -- 1 expired, 2 no device or unregistered, 3 device not active, 4 no permission.
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_claim_batch (
    id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    priority  TINYINT UNSIGNED NOT NULL,
    due_at    DATETIME(6) NOT NULL
  ) ENGINE=MEMORY;
  CREATE TEMPORARY TABLE IF NOT EXISTS hd_claim_fate (
    id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    fate      TINYINT UNSIGNED NOT NULL
  ) ENGINE=MEMORY;

  -- InnoDB rolls a deadlock victim back whole, so an attempt that fails leaves
  -- nothing claimed, and the next one starts afresh (the MEMORY tables, which no
  -- rollback empties, are emptied first). Rare deadlocks between concurrent claims
  -- do happen even with SKIP LOCKED, and Galera reports conflicts the same way.
  attempt: LOOP
    BEGIN
      DECLARE EXIT HANDLER FOR 1213
      BEGIN
        ROLLBACK;
        SET v_tries = v_tries + 1;
        IF v_tries >= c_max_tries THEN
          RESIGNAL;
        END IF;
      END;
      -- Declared here, after the checks: a refusal must not roll back the caller's work.
      DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;

      DELETE FROM hd_claim_batch;
      DELETE FROM hd_claim_fate;
      SET v_now = UTC_TIMESTAMP(6);
      -- READ COMMITTED: the locking reads below then lock only the rows they return,
      -- not the gaps between them, so concurrent sends can insert new deliveries.
      SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
      START TRANSACTION;
      IF p_message_id IS NOT NULL THEN
        INSERT INTO hd_claim_batch (id, priority, due_at)
          SELECT id, priority, due_at FROM deliveries
           WHERE message_id = p_message_id
             AND ((state = 'queued' AND due_at <= v_now)
                  OR (state = 'sending' AND lease_until < v_now))
           ORDER BY priority DESC, due_at, id
           LIMIT p_limit
             FOR UPDATE SKIP LOCKED;
      ELSE
        INSERT INTO hd_claim_batch (id, priority, due_at)
          SELECT id, priority, due_at FROM deliveries FORCE INDEX (deliveries_lease)
           WHERE state = 'sending' AND lease_until < v_now
           ORDER BY priority DESC, due_at, id
           LIMIT p_limit
             FOR UPDATE SKIP LOCKED;
        -- The IN list makes one due_at range per priority (above 10, outside herald's
        -- 1..10, one range for the rest), read in index order: scheduled rows that are
        -- not due yet are never read, and no sort is needed before LIMIT ends the scan.
        INSERT INTO hd_claim_batch (id, priority, due_at)
          SELECT id, priority, due_at FROM deliveries FORCE INDEX (deliveries_claim)
           WHERE state = 'queued'
             AND (priority > 10 OR priority IN (10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
             AND due_at <= v_now
           ORDER BY priority DESC, due_at
           LIMIT p_limit
             FOR UPDATE SKIP LOCKED;
        -- Both kinds together may exceed the limit: keep the first p_limit. The rows
        -- dropped stay locked until the commit, and go to the next claim.
        SET v_extra = (SELECT COUNT(*) FROM hd_claim_batch) - p_limit;
        IF v_extra > 0 THEN
          DELETE FROM hd_claim_batch ORDER BY priority, due_at DESC, id DESC LIMIT v_extra;
        END IF;
      END IF;

      -- A plain INSERT ... SELECT: under READ COMMITTED it reads messages and devices
      -- without locking them (a multi-table UPDATE would take shared locks, and wait
      -- for every device registration or finished batch touching those rows).
      INSERT INTO hd_claim_fate (id, fate)
        SELECT b.id,
               CASE
                 WHEN m.ttl_s > 0 AND v_now > m.schedule_at + INTERVAL m.ttl_s SECOND THEN 1
                 WHEN v.id IS NULL OR v.status = 'unregistered' THEN 2
                 WHEN v.status <> 'active' THEN 3
                 WHEN v.push_permission = 0 THEN 4
                 ELSE 0
               END
          FROM hd_claim_batch b
          STRAIGHT_JOIN deliveries d ON d.id = b.id
          STRAIGHT_JOIN messages m ON m.id = d.message_id
          LEFT JOIN devices v ON v.id = d.device_id;

      -- STRAIGHT_JOIN: driven from the batch, the update locks only the claimed rows;
      -- driven from deliveries (the optimizer's choice on small tables) it would lock,
      -- or wait for, every row it reads. Every assignment reads only f and the column
      -- it sets: MariaDB does not promise an order for a multi-table UPDATE's.
      UPDATE hd_claim_fate f STRAIGHT_JOIN deliveries d ON d.id = f.id
         SET d.state = ELT(f.fate + 1, 'sending', 'expired', 'gone', 'gone', 'gone'),
             d.reason = CASE f.fate
                          WHEN 0 THEN d.reason
                          WHEN 1 THEN 'ttl expired before delivery'
                          WHEN 2 THEN 'device unregistered'
                          WHEN 3 THEN 'device not active'
                          ELSE 'device has no push permission'
                        END,
             d.attempts = d.attempts + (f.fate = 0),
             d.last_attempt_at = IF(f.fate = 0, v_now, d.last_attempt_at),
             d.lease_owner = IF(f.fate = 0, p_owner, NULL),
             d.lease_until = IF(f.fate = 0, v_now + INTERVAL p_lease_s SECOND, NULL);
      COMMIT;
      LEAVE attempt;
    END;
  END LOOP attempt;

  SELECT d.id                                      AS delivery_id,
         d.attempts                                AS attempt,
         d.app_id                                  AS app_id,
         v.platform                                AS platform,
         v.token                                   AS token,
         v.p256dh                                  AS p256dh,
         v.auth_secret                             AS auth_secret,
         m.title                                   AS title,
         m.body                                    AS body,
         m.data                                    AS data,
         m.sound                                   AS sound,
         d.priority                                AS priority,
         m.schedule_at + INTERVAL m.ttl_s SECOND   AS expires_at,
         m.extras                                  AS extras,
         (SELECT MAX(c.updated_at) FROM app_credentials c WHERE c.app_id = d.app_id)
                                                   AS creds_updated_at
    FROM hd_claim_fate f
    STRAIGHT_JOIN deliveries d ON d.id = f.id
    STRAIGHT_JOIN messages m ON m.id = d.message_id
    STRAIGHT_JOIN devices v ON v.id = d.device_id
   WHERE f.fate = 0
   ORDER BY d.priority DESC, d.due_at, d.id;
END //

-- hd_finish_delivery: records the outcome of delivery p_id's current attempt by
-- worker p_owner. p_outcome is what the provider answered:
--   delivered  the delivery is delivered;
--   gone       the token or subscription is invalid: the delivery is gone, and the
--              device becomes 'unregistered' unless it registered again after
--              p_gone_since (devices.last_active_at > p_gone_since; NULL: now);
--   rejected   refused for good: rejected with p_reason;
--   retry      try again at p_retry_at (NULL: now): expired if the message expires
--              before then, rejected ('gave up after N attempts: ...') when the
--              delivery has had p_max_attempts (at least 1) attempts, else queued
--              again, due at p_retry_at, its lease released.
-- p_status (the provider's HTTP status, 0..999, or NULL) and p_reason are stored on
-- the delivery, and the attempt in delivery_attempts. Nothing changes when the
-- delivery is no longer 'sending' under p_owner (its lease was taken over).
-- Runs in the caller's transaction and neither starts nor ends one: the engine
-- reports a batch of outcomes between its own BEGIN and COMMIT.
-- Returns one row: state, the delivery's new state, or 'lost' when nothing changed.
CREATE OR REPLACE PROCEDURE hd_finish_delivery(IN p_id BIGINT UNSIGNED,
                                               IN p_owner CHAR(32),
                                               IN p_outcome VARCHAR(16),
                                               IN p_status INT,
                                               IN p_reason VARCHAR(255) CHARACTER SET utf8mb4,
                                               IN p_retry_at DATETIME(6),
                                               IN p_gone_since DATETIME(6),
                                               IN p_max_attempts INT)
  MODIFIES SQL DATA
proc: BEGIN
  DECLARE v_now DATETIME(6) DEFAULT UTC_TIMESTAMP(6);
  DECLARE v_found TINYINT DEFAULT 1;
  DECLARE v_attempts INT UNSIGNED;
  DECLARE v_started DATETIME(6);
  DECLARE v_device BIGINT UNSIGNED;
  DECLARE v_message BIGINT UNSIGNED;
  DECLARE v_expires DATETIME(6);
  DECLARE v_retry_at DATETIME(6) DEFAULT COALESCE(p_retry_at, v_now);
  DECLARE v_state VARCHAR(16) CHARACTER SET utf8mb4;
  DECLARE v_reason VARCHAR(255) CHARACTER SET utf8mb4 DEFAULT p_reason;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_found = 0;

  IF p_outcome IS NULL
     OR CAST(p_outcome AS BINARY) NOT IN ('delivered', 'retry', 'gone', 'rejected') THEN
    CALL hd_internal_fail(CONCAT('hd_finish_delivery: bad outcome ''', IFNULL(LEFT(p_outcome, 16), 'NULL'),
                                 ''' (want delivered, retry, gone or rejected)'));
  END IF;
  IF p_id IS NULL OR p_owner IS NULL THEN
    CALL hd_internal_fail('hd_finish_delivery: delivery id and owner are required');
  END IF;
  IF p_status < 0 OR p_status > 999 THEN
    CALL hd_internal_fail(CONCAT('hd_finish_delivery: provider status must be 0..999 or NULL, not ', p_status));
  END IF;
  IF p_outcome = 'retry' AND (p_max_attempts IS NULL OR p_max_attempts < 1) THEN
    CALL hd_internal_fail(CONCAT('hd_finish_delivery: max attempts must be at least 1, not ',
                                 IFNULL(p_max_attempts, 'NULL')));
  END IF;

  -- The delivery row is locked, its message only read: workers finishing deliveries of
  -- one message must never queue behind each other's batches.
  SELECT attempts, last_attempt_at, device_id, message_id
    INTO v_attempts, v_started, v_device, v_message
    FROM deliveries
   WHERE id = p_id AND state = 'sending' AND lease_owner = p_owner
     FOR UPDATE;
  IF NOT v_found THEN
    SELECT 'lost' AS state;
    LEAVE proc;
  END IF;
  SELECT schedule_at + INTERVAL ttl_s SECOND INTO v_expires FROM messages WHERE id = v_message;

  CASE p_outcome
    WHEN 'delivered' THEN
      SET v_state = 'delivered';
    WHEN 'gone' THEN
      SET v_state = 'gone';
      UPDATE devices SET status = 'unregistered'
       WHERE id = v_device AND status <> 'unregistered'
         AND last_active_at <= COALESCE(p_gone_since, v_now);
    WHEN 'rejected' THEN
      SET v_state = 'rejected';
    ELSE
      IF v_retry_at > v_expires THEN
        SET v_state = 'expired',
            v_reason = LEFT(CONCAT('ttl expired while retrying: ', IFNULL(p_reason, 'no reason given')), 255);
      ELSEIF v_attempts >= p_max_attempts THEN
        SET v_state = 'rejected',
            v_reason = LEFT(CONCAT('gave up after ', v_attempts, ' attempts: ',
                                   IFNULL(p_reason, 'no reason given')), 255);
      ELSE
        SET v_state = 'queued';
      END IF;
  END CASE;

  UPDATE deliveries
     SET state = v_state,
         due_at = IF(v_state = 'queued', v_retry_at, due_at),
         provider_status = p_status,
         reason = v_reason,
         lease_owner = NULL,
         lease_until = NULL
   WHERE id = p_id;
  -- The attempt number repeats only if an operator reset deliveries.attempts; the
  -- latest outcome then replaces the older record rather than failing the batch.
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, finished_at, outcome,
                                 provider_status, reason)
    VALUES (p_id, v_attempts, COALESCE(v_started, v_now), v_now, p_outcome, p_status, p_reason)
    ON DUPLICATE KEY UPDATE started_at = VALUES(started_at), finished_at = VALUES(finished_at),
                            outcome = VALUES(outcome), provider_status = VALUES(provider_status),
                            reason = VALUES(reason);
  SELECT v_state AS state;
END //

-- hd_share_provider_token: offers p_candidate, a provider token issued at
-- p_candidate_iat, as the current token of (p_issuer, p_key_id). It is stored when
-- there is none yet or the stored one was issued at or before p_candidate_iat -
-- p_min_age_s (0..86400); otherwise the stored one stays. One atomic upsert: of
-- many processes offering tokens at once, all end up with the same one.
-- Returns one row: token, issued_at: the token to use (stored after the call).
CREATE OR REPLACE PROCEDURE hd_share_provider_token(IN p_issuer VARCHAR(255) CHARACTER SET utf8mb4,
                                                    IN p_key_id VARCHAR(64) CHARACTER SET utf8mb4,
                                                    IN p_candidate TEXT CHARACTER SET utf8mb4,
                                                    IN p_candidate_iat DATETIME(6),
                                                    IN p_min_age_s INT)
  MODIFIES SQL DATA
BEGIN
  IF p_issuer IS NULL OR p_issuer = '' OR p_key_id IS NULL OR p_key_id = '' THEN
    CALL hd_internal_fail('hd_share_provider_token: issuer and key id must not be empty');
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
  INSERT INTO provider_tokens (issuer, key_id, token, issued_at)
    VALUES (p_issuer, p_key_id, p_candidate, p_candidate_iat)
    ON DUPLICATE KEY UPDATE
      token = IF(issued_at <= VALUES(issued_at) - INTERVAL p_min_age_s SECOND,
                 VALUES(token), token),
      issued_at = IF(issued_at <= VALUES(issued_at) - INTERVAL p_min_age_s SECOND,
                     VALUES(issued_at), issued_at);
  SELECT token, issued_at FROM provider_tokens WHERE issuer = p_issuer AND key_id = p_key_id;
END //

-- ---------------------------------------------------------------------------------
-- Administration: provider credentials
-- ---------------------------------------------------------------------------------

-- hd_internal_app_by_uid: the id of the app whose public uid is p_app_uid, in
-- p_app_id; signals (prefixed with p_proc) when there is none.
CREATE OR REPLACE PROCEDURE hd_internal_app_by_uid(IN p_proc VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                   OUT p_app_id BIGINT UNSIGNED)
  READS SQL DATA
BEGIN
  DECLARE v_id BIGINT UNSIGNED;
  IF p_app_uid IS NULL OR p_app_uid = '' THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': app uid is required'));
  END IF;
  SET v_id = (SELECT id FROM apps WHERE uid = p_app_uid);
  IF v_id IS NULL THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': unknown app ''', LEFT(p_app_uid, 64), ''''));
  END IF;
  SET p_app_id = v_id;
END //

-- hd_internal_is_private_key_pem: 1 when p_pem is one unencrypted PEM private key
-- (PKCS#8 "PRIVATE KEY", or "EC PRIVATE KEY" / "RSA PRIVATE KEY"), blanks around it
-- allowed; else 0. Encrypted keys are refused: herald has no passphrase to open them.
CREATE OR REPLACE FUNCTION hd_internal_is_private_key_pem(p_pem TEXT CHARACTER SET utf8mb4)
  RETURNS TINYINT
  DETERMINISTIC NO SQL
BEGIN
  RETURN COALESCE(CAST(p_pem AS BINARY) REGEXP
    '^\\s*-----BEGIN ((EC |RSA )?PRIVATE KEY)-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END \\1-----\\s*$', 0);
END //

-- hd_internal_strip: p_text without the blanks and line breaks around it (a PEM file
-- ends with a line break; a pasted one may start with blanks).
CREATE OR REPLACE FUNCTION hd_internal_strip(p_text TEXT CHARACTER SET utf8mb4)
  RETURNS TEXT CHARACTER SET utf8mb4
  DETERMINISTIC NO SQL
BEGIN
  RETURN REGEXP_REPLACE(p_text, '^[[:space:]]+|[[:space:]]+$', '');
END //

-- hd_internal_is_certificate_pem: 1 when p_pem is one or more PEM certificates (a
-- certificate and its chain), blanks around allowed; else 0.
CREATE OR REPLACE FUNCTION hd_internal_is_certificate_pem(p_pem TEXT CHARACTER SET utf8mb4)
  RETURNS TINYINT
  DETERMINISTIC NO SQL
BEGIN
  RETURN COALESCE(CAST(p_pem AS BINARY) REGEXP
    '^\\s*(-----BEGIN CERTIFICATE-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END CERTIFICATE-----\\s*)+$', 0);
END //

-- hd_internal_check_apns: signals (prefixed with p_proc) unless p_topic is an APNs
-- topic (a bundle id, possibly with a suffix such as .voip: letters, digits, dots and
-- hyphens) and p_sandbox is 0 (production) or 1 (development environment).
CREATE OR REPLACE PROCEDURE hd_internal_check_apns(IN p_proc VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_topic VARCHAR(255) CHARACTER SET utf8mb4,
                                                   IN p_sandbox TINYINT)
  NO SQL
BEGIN
  IF p_topic IS NULL OR NOT CAST(p_topic AS BINARY) REGEXP '^[A-Za-z0-9][A-Za-z0-9.-]*$' THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': bad topic ''', IFNULL(LEFT(p_topic, 100), 'NULL'),
                                 ''' (want the app''s bundle id, e.g. com.example.app)'));
  END IF;
  IF p_sandbox IS NULL OR p_sandbox NOT IN (0, 1) THEN
    CALL hd_internal_fail(CONCAT(p_proc, ': sandbox must be 0 or 1, not ', IFNULL(p_sandbox, 'NULL')));
  END IF;
END //

-- hd_internal_store_credentials: writes app p_app_id's row for p_provider, replacing
-- every column (those the provider does not use become NULL).
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
END //

-- hd_set_apns_token_auth: app p_app_uid sends to APNs with token authentication:
-- the signing key p_key_pem (the .p8 file Apple hands out, an unencrypted PEM
-- private key), its key id p_key_id and the team id p_team_id (each 10 uppercase
-- letters or digits), for topic p_topic (the bundle id), to the production
-- (p_sandbox 0) or development (1) environment. Replaces the app's APNs
-- credentials, also certificate ones.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_apns_token_auth(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_team_id VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_key_id VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_key_pem TEXT CHARACTER SET utf8mb4,
                                                   IN p_topic VARCHAR(255) CHARACTER SET utf8mb4,
                                                   IN p_sandbox TINYINT)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  CALL hd_internal_app_by_uid('hd_set_apns_token_auth', p_app_uid, v_app);
  IF p_team_id IS NULL OR NOT CAST(p_team_id AS BINARY) REGEXP '^[A-Z0-9]{10}$' THEN
    CALL hd_internal_fail(CONCAT('hd_set_apns_token_auth: bad team id ''', IFNULL(LEFT(p_team_id, 64), 'NULL'),
                                 ''' (want 10 uppercase letters or digits)'));
  END IF;
  IF p_key_id IS NULL OR NOT CAST(p_key_id AS BINARY) REGEXP '^[A-Z0-9]{10}$' THEN
    CALL hd_internal_fail(CONCAT('hd_set_apns_token_auth: bad key id ''', IFNULL(LEFT(p_key_id, 64), 'NULL'),
                                 ''' (want 10 uppercase letters or digits)'));
  END IF;
  IF NOT hd_internal_is_private_key_pem(p_key_pem) THEN
    CALL hd_internal_fail('hd_set_apns_token_auth: the key is not an unencrypted PEM private key (the .p8 file, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----)');
  END IF;
  CALL hd_internal_check_apns('hd_set_apns_token_auth', p_topic, p_sandbox);
  CALL hd_internal_store_credentials(v_app, 'apns', 'token', p_team_id, p_key_id, hd_internal_strip(p_key_pem),
                                     NULL, p_topic, p_sandbox, NULL, NULL, NULL, NULL, NULL, NULL);
END //

-- hd_set_apns_certificate_auth: app p_app_uid sends to APNs with certificate
-- authentication: the client certificate p_cert_pem (PEM, possibly followed by its
-- chain) and its unencrypted PEM private key p_key_pem, for topic p_topic, to the
-- production (p_sandbox 0) or development (1) environment. Replaces the app's APNs
-- credentials, also token ones.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_apns_certificate_auth(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                         IN p_cert_pem TEXT CHARACTER SET utf8mb4,
                                                         IN p_key_pem TEXT CHARACTER SET utf8mb4,
                                                         IN p_topic VARCHAR(255) CHARACTER SET utf8mb4,
                                                         IN p_sandbox TINYINT)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  CALL hd_internal_app_by_uid('hd_set_apns_certificate_auth', p_app_uid, v_app);
  IF NOT hd_internal_is_certificate_pem(p_cert_pem) THEN
    CALL hd_internal_fail('hd_set_apns_certificate_auth: the certificate is not PEM (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)');
  END IF;
  IF NOT hd_internal_is_private_key_pem(p_key_pem) THEN
    CALL hd_internal_fail('hd_set_apns_certificate_auth: the key is not an unencrypted PEM private key (convert it with: openssl pkey -in key.pem -out plain.pem)');
  END IF;
  CALL hd_internal_check_apns('hd_set_apns_certificate_auth', p_topic, p_sandbox);
  CALL hd_internal_store_credentials(v_app, 'apns', 'certificate', NULL, NULL, hd_internal_strip(p_key_pem),
                                     hd_internal_strip(p_cert_pem), p_topic, p_sandbox, NULL, NULL, NULL, NULL,
                                     NULL, NULL);
END //

-- hd_set_fcm_service_account: app p_app_uid sends through FCM HTTP v1 as the
-- service account p_json, the JSON key file downloaded from the Firebase console
-- (type "service_account"). Its project_id, client_email, private_key and token_uri
-- (https) are stored; the rest of the file is not kept.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_fcm_service_account(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                       IN p_json TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  DECLARE v_project VARCHAR(255) CHARACTER SET utf8mb4;
  DECLARE v_email VARCHAR(255) CHARACTER SET utf8mb4;
  DECLARE v_key TEXT CHARACTER SET utf8mb4;
  DECLARE v_token_uri VARCHAR(1024) CHARACTER SET utf8mb4;
  CALL hd_internal_app_by_uid('hd_set_fcm_service_account', p_app_uid, v_app);
  IF p_json IS NULL OR NOT JSON_VALID(p_json) OR JSON_TYPE(p_json) <> 'OBJECT' THEN
    CALL hd_internal_fail('hd_set_fcm_service_account: not a JSON object (pass the service account''s key file as it was downloaded)');
  END IF;
  IF NOT COALESCE(JSON_VALUE(p_json, '$.type') = 'service_account', FALSE) THEN
    CALL hd_internal_fail(CONCAT('hd_set_fcm_service_account: type is ''',
                                 IFNULL(LEFT(JSON_VALUE(p_json, '$.type'), 64), 'missing'),
                                 ''', not ''service_account'''));
  END IF;
  IF CHAR_LENGTH(JSON_VALUE(p_json, '$.project_id')) > 255
     OR CHAR_LENGTH(JSON_VALUE(p_json, '$.client_email')) > 255
     OR CHAR_LENGTH(JSON_VALUE(p_json, '$.token_uri')) > 1024 THEN
    CALL hd_internal_fail('hd_set_fcm_service_account: project_id, client_email or token_uri is too long');
  END IF;
  SET v_project = JSON_VALUE(p_json, '$.project_id'),
      v_email = JSON_VALUE(p_json, '$.client_email'),
      v_key = JSON_VALUE(p_json, '$.private_key'),
      v_token_uri = JSON_VALUE(p_json, '$.token_uri');
  -- The project id goes into the send URL's path.
  IF v_project IS NULL OR NOT CAST(v_project AS BINARY) REGEXP '^[a-z0-9][a-z0-9.:-]*$' THEN
    CALL hd_internal_fail(CONCAT('hd_set_fcm_service_account: project_id is missing or malformed: ''',
                                 IFNULL(LEFT(v_project, 100), ''), ''''));
  END IF;
  IF v_email IS NULL OR NOT v_email REGEXP '^[^@[:space:]]+@[^@[:space:]]+$' THEN
    CALL hd_internal_fail('hd_set_fcm_service_account: client_email is missing or malformed');
  END IF;
  IF NOT hd_internal_is_private_key_pem(v_key) THEN
    CALL hd_internal_fail('hd_set_fcm_service_account: private_key is missing or not a PEM private key');
  END IF;
  IF v_token_uri IS NULL OR NOT CAST(v_token_uri AS BINARY) REGEXP '^https://[^[:space:]]+$' THEN
    CALL hd_internal_fail('hd_set_fcm_service_account: token_uri is missing or not an https URL');
  END IF;
  CALL hd_internal_store_credentials(v_app, 'fcm', NULL, NULL, NULL, hd_internal_strip(v_key), NULL, NULL, 0,
                                     v_project, v_email, v_token_uri, NULL, NULL, NULL);
END //

-- hd_set_vapid_key: app p_app_uid signs its Web Push requests (VAPID, RFC 8292) with
-- p_key_pem, an unencrypted PEM EC P-256 private key (its public key is the
-- applicationServerKey browsers subscribe with), and names p_subject as its contact:
-- a mailto: address or an https: URL.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_vapid_key(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                             IN p_subject VARCHAR(255) CHARACTER SET utf8mb4,
                                             IN p_key_pem TEXT CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  CALL hd_internal_app_by_uid('hd_set_vapid_key', p_app_uid, v_app);
  IF p_subject IS NULL
     OR NOT CAST(p_subject AS BINARY) REGEXP '^(mailto:[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+|https://[^/[:space:][:cntrl:]]+(/[^[:space:][:cntrl:]]*)?)$' THEN
    CALL hd_internal_fail(CONCAT('hd_set_vapid_key: bad subject ''', IFNULL(LEFT(p_subject, 100), 'NULL'),
                                 ''' (want mailto:address or an https: URL)'));
  END IF;
  IF NOT hd_internal_is_private_key_pem(p_key_pem) THEN
    CALL hd_internal_fail('hd_set_vapid_key: the key is not an unencrypted PEM private key');
  END IF;
  CALL hd_internal_store_credentials(v_app, 'webpush', NULL, NULL, NULL, hd_internal_strip(p_key_pem), NULL, NULL,
                                     0, NULL, NULL, NULL, p_subject, NULL, NULL);
END //

-- hd_set_wns_credentials: app p_app_uid authenticates to WNS with p_client_id (its
-- Package SID, ms-app://...) and p_client_secret, as registered in Partner Center.
-- Neither may be empty or contain blanks.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_set_wns_credentials(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                   IN p_client_id VARCHAR(255) CHARACTER SET utf8mb4,
                                                   IN p_client_secret VARCHAR(255) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  CALL hd_internal_app_by_uid('hd_set_wns_credentials', p_app_uid, v_app);
  IF p_client_id IS NULL OR NOT CAST(p_client_id AS BINARY) REGEXP '^[^[:space:][:cntrl:]]+$' THEN
    CALL hd_internal_fail(CONCAT('hd_set_wns_credentials: bad client id ''', IFNULL(LEFT(p_client_id, 100), 'NULL'),
                                 ''' (want the Package SID, ms-app://...)'));
  END IF;
  IF p_client_secret IS NULL OR NOT CAST(p_client_secret AS BINARY) REGEXP '^[^[:space:][:cntrl:]]+$' THEN
    CALL hd_internal_fail('hd_set_wns_credentials: the client secret must not be empty or contain blanks');
  END IF;
  CALL hd_internal_store_credentials(v_app, 'wns', NULL, NULL, NULL, NULL, NULL, NULL, 0,
                                     NULL, NULL, NULL, NULL, p_client_id, p_client_secret);
END //

-- hd_remove_credentials: deletes app p_app_uid's credentials for p_provider (apns,
-- fcm, webpush or wns); its deliveries to that platform then fail until new ones are
-- set. Signals when the app has none for that provider, so that a typo is not
-- mistaken for a removal.
-- Returns: nothing.
CREATE OR REPLACE PROCEDURE hd_remove_credentials(IN p_app_uid VARCHAR(64) CHARACTER SET utf8mb4,
                                                  IN p_provider VARCHAR(16) CHARACTER SET utf8mb4)
  MODIFIES SQL DATA
BEGIN
  DECLARE v_app BIGINT UNSIGNED;
  CALL hd_internal_app_by_uid('hd_remove_credentials', p_app_uid, v_app);
  IF p_provider IS NULL OR CAST(p_provider AS BINARY) NOT IN ('apns', 'fcm', 'webpush', 'wns') THEN
    CALL hd_internal_fail(CONCAT('hd_remove_credentials: bad provider ''', IFNULL(LEFT(p_provider, 16), 'NULL'),
                                 ''' (want apns, fcm, webpush or wns)'));
  END IF;
  DELETE FROM app_credentials WHERE app_id = v_app AND provider = p_provider;
  IF ROW_COUNT() = 0 THEN
    CALL hd_internal_fail(CONCAT('hd_remove_credentials: app ''', p_app_uid, ''' has no ',
                                 p_provider, ' credentials'));
  END IF;
  -- The engine notices changes by MAX(updated_at): removing a row that was not the
  -- latest would leave it unchanged, so the remaining rows are touched.
  UPDATE app_credentials SET updated_at = UTC_TIMESTAMP(6) WHERE app_id = v_app;
END //

-- ---------------------------------------------------------------------------------
-- Housekeeping
-- ---------------------------------------------------------------------------------

-- hd_purge: as in 0002_admin.sql, and deletes the attempt records (delivery_attempts)
-- of the deliveries it deletes, in batches of their own ahead of them. Deletes, app
-- by app, in small batches each committed on its own (so no lock is held for long
-- and replication never sees a huge transaction):
--   1. dedupe records older than their app's dedupe window;
--   2. messages created more than p_older_than_days days ago (1..36500) whose
--      deliveries are all final (delivered, gone, rejected, expired) and were last
--      updated before that cutoff, together with those deliveries and their
--      attempts. Messages with a queued or sending delivery are kept whole. Inbox
--      messages (source 'inbox') are kept: they are the users' inboxes, removed by
--      their users;
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

      -- Attempts first: left to the foreign key's cascade, a batch of deliveries
      -- would take an unbounded number of attempt rows with it.
      REPEAT
        DELETE FROM delivery_attempts
         WHERE delivery_id IN (SELECT d.id FROM deliveries d
                                WHERE d.message_id IN (SELECT id FROM hd_purge_batch)
                                  AND d.state IN ('delivered', 'gone', 'rejected', 'expired')
                                  AND d.updated_at < v_cutoff)
         LIMIT c_row_batch;
        SET v_n = ROW_COUNT();
        COMMIT;
      UNTIL v_n < c_row_batch END REPEAT;

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

-- hd_credentials: every app's credentials without their secrets (no private key, no
-- client secret): which provider, how it authenticates, the public identifiers, and
-- when it was last set. has_private_key / has_certificate say whether one is stored.
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
       CAST(c.private_key_pem IS NOT NULL AS UNSIGNED)  AS has_private_key,
       CAST(c.certificate_pem IS NOT NULL AS UNSIGNED)  AS has_certificate,
       c.updated_at                                     AS updated_at
  FROM app_credentials c
  JOIN apps a ON a.id = c.app_id;

-- hd_queue: the backlog, one row per app with pending deliveries. queued_due: queued
-- and due now (waiting for a worker); queued_later: queued, due later (scheduled or
-- backing off before a retry); sending: claimed by a worker, of which
-- sending_lease_expired are held by a worker that stopped reporting (they are taken
-- over at the next claim); oldest_due_age_s: how long the longest-waiting due
-- delivery has waited (NULL when none is due). Reads every pending delivery: cheap
-- while the queue is short, a full pass when it is long.
CREATE OR REPLACE VIEW hd_queue AS
SELECT a.tenant_id                                                                      AS tenant_id,
       d.app_id                                                                         AS app_id,
       a.uid                                                                            AS app_uid,
       a.name                                                                           AS app_name,
       CAST(SUM(d.state = 'queued' AND d.due_at <= UTC_TIMESTAMP(6)) AS UNSIGNED)        AS queued_due,
       CAST(SUM(d.state = 'queued' AND d.due_at > UTC_TIMESTAMP(6)) AS UNSIGNED)         AS queued_later,
       CAST(SUM(d.state = 'sending') AS UNSIGNED)                                       AS sending,
       CAST(COALESCE(SUM(d.state = 'sending' AND d.lease_until < UTC_TIMESTAMP(6)), 0) AS UNSIGNED)
                                                                                        AS sending_lease_expired,
       TIMESTAMPDIFF(SECOND,
                     MIN(IF(d.state = 'queued' AND d.due_at <= UTC_TIMESTAMP(6), d.due_at, NULL)),
                     UTC_TIMESTAMP(6))                                                  AS oldest_due_age_s
  FROM deliveries d
  JOIN apps a ON a.id = d.app_id
 WHERE d.state IN ('queued', 'sending')
 GROUP BY a.tenant_id, d.app_id, a.uid, a.name;

-- hd_delivery_attempts: each attempt with the delivery, message, app and device it
-- belongs to: filter on delivery_id, message_id or app_uid.
CREATE OR REPLACE VIEW hd_delivery_attempts AS
SELECT t.delivery_id                                            AS delivery_id,
       d.message_id                                             AS message_id,
       d.app_id                                                 AS app_id,
       a.uid                                                    AS app_uid,
       v.uid                                                    AS device_uid,
       v.platform                                               AS platform,
       t.attempt                                                AS attempt,
       t.started_at                                             AS started_at,
       t.finished_at                                            AS finished_at,
       TIMESTAMPDIFF(MICROSECOND, t.started_at, t.finished_at) DIV 1000 AS duration_ms,
       t.outcome                                                AS outcome,
       t.provider_status                                        AS provider_status,
       t.reason                                                 AS reason,
       d.state                                                  AS delivery_state
  FROM delivery_attempts t
  JOIN deliveries d ON d.id = t.delivery_id
  JOIN apps a ON a.id = d.app_id
  LEFT JOIN devices v ON v.id = d.device_id;
