#!/usr/bin/env bash
# Install Debian's Redmine 5.0.4 (SQLite backend), start it on loopback and prepare it for the
# connector tests. Idempotent: when the server already answers with the saved API key it exits
# at once. Needs root (apt, www-data). See docs/connectors/redmine.md.
#
# Environment (all optional):
#   HUB_REDMINE_PORT   port on 127.0.0.1 (default 3300)
#   HUB_REDMINE_STATE  state dir: pid file, server log, credentials (default /var/lib/tasktop-hub-redmine)
#   HUB_REDMINE_ACTION "start" (default) or "stop"
#
# Writes $HUB_REDMINE_STATE/credentials.env with HUB_TEST_REDMINE_URL, HUB_TEST_REDMINE_KEY,
# HUB_TEST_REDMINE_DB (the SQLite file, for tests that force timestamps), HUB_TEST_REDMINE_USER_KEY
# (a non-admin Developer in both projects, so Redmine's workflow applies).
set -euo pipefail

PORT=${HUB_REDMINE_PORT:-3300}
STATE=${HUB_REDMINE_STATE:-/var/lib/tasktop-hub-redmine}
ACTION=${HUB_REDMINE_ACTION:-start}
URL="http://127.0.0.1:$PORT"
CREDS="$STATE/credentials.env"
PIDFILE="$STATE/redmine.pid"
LOG="$STATE/server.log"
CONFIG_RU="$STATE/config.ru"
# Bump when the way the server is configured or started changes: a running server is restarted.
SETUP_VERSION=4
APP=/usr/share/redmine
DB_FILE=/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default
DB_YML=/etc/redmine/default/database.yml
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup_redmine: $*" >&2; }

key_works() {
  [ -f "$CREDS" ] || return 1
  # shellcheck disable=SC1090
  . "$CREDS"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Redmine-API-Key: $HUB_TEST_REDMINE_KEY" \
       "$URL/users/current.json")" = 200 ]
}

stop_server() {
  if [ -f "$PIDFILE" ]; then
    start-stop-daemon --stop --quiet --oknodo --retry TERM/10/KILL/5 --pidfile "$PIDFILE" || true
    rm -f "$PIDFILE"
  fi
}

if [ "$ACTION" = stop ]; then stop_server; exit 0; fi

# SQLite without a busy timeout answers concurrent writes with HTTP 500 (BusyException).
has_busy_timeout() { grep -qs '^  timeout:' "$DB_YML"; }

if has_busy_timeout && [ "$(cat "$STATE/setup-version" 2>/dev/null)" = "$SETUP_VERSION" ] && key_works; then
  log "Redmine already running at $URL"
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root (apt-get, www-data)"; exit 2; }
command -v curl >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends curl; }
mkdir -p "$STATE"
chmod 0755 "$STATE"

sqlite_db_yml() {
  cat > "$DB_YML" <<YML
production:
  adapter: sqlite3
  database: $DB_FILE
  encoding: utf8
  timeout: 10000
YML
  chown root:www-data "$DB_YML"; chmod 0640 "$DB_YML"
}

# 1. Packages. A half-configured redmine (see notes: ucf after purge, triggers) is repaired first.
PACKAGES=(redmine redmine-sqlite ruby-webrick sqlite3)
if [ "$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -c 'install ok installed')" != ${#PACKAGES[@]} ]; then
  log "installing redmine + redmine-sqlite (about 30 s)"
  if [ -d /etc/redmine/default ] && [ ! -s "$DB_YML" ]; then sqlite_db_yml; fi
  dpkg --configure -a || true
  echo "redmine redmine/instances/default/dbconfig-install boolean true" | debconf-set-selections 2>/dev/null || true
  echo "redmine redmine/instances/default/database-type select sqlite3" | debconf-set-selections 2>/dev/null || true
  install() { apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"; }
  install || { apt-get update -qq && install; } || { sqlite_db_yml; dpkg --configure -a; install; }
fi

# 2. A web server: Debian ships none that bundler lets Rails see (notes: "no usable web server").
if ! grep -qs "gem 'webrick'" "$APP/Gemfile.local"; then
  echo "gem 'webrick'" >> "$APP/Gemfile.local"
fi
# www-data gets its own HOME and scratch space in the state dir: /tmp is not always readable by
# other users (CI's is 0700), and then rails runner cannot see its script.
WWW_HOME="$STATE/www-home"
mkdir -p "$WWW_HOME"; chown www-data "$WWW_HOME"; chmod 0700 "$WWW_HOME"
as_www() { runuser -u www-data -- env -i PATH=/usr/bin:/bin HOME="$WWW_HOME" TMPDIR="$WWW_HOME" \
           RAILS_ENV=production REDMINE_INSTANCE=default "$@"; }
if ! grep -q '^    webrick' /var/lib/redmine/Gemfile.lock 2>/dev/null; then
  (cd "$APP" && as_www bundle lock --local >/dev/null)
fi

if ! has_busy_timeout && grep -qs 'adapter: sqlite3' "$DB_YML"; then
  sed -i '/^production:/a\  timeout: 10000' "$DB_YML"
fi

# 3. Schema, default data, REST API, admin key, projects, the hub-key custom field.
stop_server
(cd "$APP" && as_www SCHEMA=/dev/null bundle exec rake db:migrate >/dev/null)
RUNNER="$WWW_HOME/setup.rb"
install -m 0644 /dev/null "$RUNNER"
cat > "$RUNNER" <<'RUBY'
Redmine::DefaultData::Loader.load("en") if Redmine::DefaultData::Loader.no_data?
Setting.rest_api_enabled = "1"
Setting.login_required = "1"  # else a wrong key reads public projects as anonymous (HTTP 200)
Setting.notified_events = []   # no mail jobs per issue: there is no mail server, and they cost time
admin = User.find_by_login("admin")
admin.password = admin.password_confirmation = "hub-admin-password"
admin.must_change_passwd = false
admin.save!
field = IssueCustomField.find_by(name: "Hub key") || IssueCustomField.new(name: "Hub key")
field.field_format = "string"
field.is_for_all = true
field.is_filter = true
field.searchable = true
field.visible = true
field.trackers = Tracker.all
field.description = "Set by the integration hub on issues it creates; lets it find them after a crash."
field.save!
[["hub-demo", "Hub demo"], ["hub-second", "Hub second"]].each do |ident, name|
  next if Project.find_by(identifier: ident)
  p = Project.new(name: name, identifier: ident, is_public: true)
  p.trackers = Tracker.all
  p.enabled_module_names = Redmine::AccessControl.available_project_modules
  p.save!
end
# A plain user, for person reconciliation and permission tests.
unless User.find_by_login("hub-user")
  u = User.new(firstname: "Hub", lastname: "User", mail: "hub-user@example.test")
  u.login = "hub-user"
  u.password = u.password_confirmation = "hub-user-password"
  u.save!
  role = Role.find_by(name: "Developer")
  Project.where(identifier: ["hub-demo", "hub-second"]).each { |p| Member.create!(project: p, principal: u, roles: [role]) }
end
puts "KEY=#{admin.api_key}"
puts "FIELD=#{field.id}"
puts "USER_KEY=#{User.find_by_login("hub-user").api_key}"
RUBY
OUT=$(cd "$APP" && as_www bundle exec rails runner "$RUNNER")
rm -f "$RUNNER"
KEY=$(echo "$OUT" | sed -n 's/^KEY=//p')
FIELD=$(echo "$OUT" | sed -n 's/^FIELD=//p')
USER_KEY=$(echo "$OUT" | sed -n 's/^USER_KEY=//p')
[ -n "$KEY" ] || { log "could not read the admin API key"; echo "$OUT" >&2; exit 1; }

# 4. Start on loopback, in the background, as www-data. Rack::Lock serialises requests: Redmine
# on SQLite answers concurrent writes with HTTP 500 (SQLite3::BusyException), busy timeout or
# not, and the engine's tests write with several workers at once.
cat > "$CONFIG_RU" <<'RU'
require '/usr/share/redmine/config/environment'
use Rack::Lock
run Rails.application
RU
chmod 0644 "$CONFIG_RU"
touch "$LOG"; chown www-data "$LOG"
start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --chuid www-data \
  --chdir "$APP" --output "$LOG" --startas /usr/bin/env -- -i PATH=/usr/bin:/bin HOME="$WWW_HOME" TMPDIR="$WWW_HOME" \
  RAILS_ENV=production REDMINE_INSTANCE=default /usr/bin/rackup -s webrick -E production \
  -o 127.0.0.1 -p "$PORT" "$CONFIG_RU"
for _ in $(seq 1 120); do
  curl -s -o /dev/null "$URL/" && break
  sleep 0.5
done
curl -s -o /dev/null "$URL/" || { log "Redmine did not answer on $URL; see $LOG"; tail -20 "$LOG" >&2; exit 1; }

umask 077
cat > "$CREDS" <<ENV
HUB_TEST_REDMINE_URL=$URL
HUB_TEST_REDMINE_KEY=$KEY
HUB_TEST_REDMINE_DB=$DB_FILE
HUB_TEST_REDMINE_HUB_KEY_FIELD=$FIELD
HUB_TEST_REDMINE_USER_KEY=$USER_KEY
ENV
key_works || { log "the API key does not work against $URL"; exit 1; }
echo "$SETUP_VERSION" > "$STATE/setup-version"
log "Redmine ready at $URL (credentials in $CREDS)"
