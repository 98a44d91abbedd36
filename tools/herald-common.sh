# Shared by tools/herald-local and tools/herald-test (sourced, not run): installing
# what herald needs and building a source tree.

# Debian packages to build, run and test herald.
HERALD_PACKAGES=(build-essential autoconf automake libtool pkg-config
  libfcgi-dev libjson-c-dev libxml2-dev libcurl4-openssl-dev libssl-dev libmariadb-dev
  mariadb-server mariadb-client lighttpd apache2 spawn-fcgi curl python3 git
  python3-h2 python3-cryptography python3-pymysql
  nodejs python3-requests golang-go  # the webpush seed's examples run in the tests
  galera-4 rsync iproute2)  # the cluster tests: Galera, its rsync state transfer (uses ss)

# What tools/herald-package-test needs besides HERALD_PACKAGES: building the Debian
# package, checking it, and what it depends on.
HERALD_DEB_PACKAGES=(debhelper lintian multiwatch adduser)

# install_packages [PACKAGE...]: apt-get install whichever of the packages (default
# HERALD_PACKAGES) is missing.
install_packages() {
  local missing=() p wanted=("$@")
  [ $# -gt 0 ] || wanted=("${HERALD_PACKAGES[@]}")
  if ! command -v dpkg-query >/dev/null; then
    echo "not a Debian system: make sure these are installed: ${wanted[*]}" >&2
    return 0
  fi
  for p in "${wanted[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  # Debian starts a service when it installs its package. herald never uses the
  # system's MariaDB, lighttpd or Apache (and two servers wanting port 80 can fail each
  # other's installation), so while apt runs, a policy-rc.d answers 101 ("not
  # allowed") to every service start. One that was there already is left alone.
  (
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      trap '$sudo rm -f "$policy"' EXIT
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
      $sudo chmod 755 "$policy"
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  )
}

# build DIR [CONFIGURE_ARG...]: build the source tree DIR with make. autoreconf runs
# when configure is missing or older than configure.ac; configure runs when DIR is not
# configured, or was configured with other arguments than those given (no arguments:
# any configuration will do). A reconfigured tree is cleaned, so that every object is
# compiled with the new flags.
build() {
  local dir=$1
  shift
  (
    set -e
    cd "$dir"
    if [ ! -x configure ] || [ configure.ac -nt configure ]; then
      autoreconf -fi
    fi
    if [ ! -f Makefile ] || { [ $# -gt 0 ] && [ "$(./config.status --config)" != "$*" ]; }; then
      ./configure "$@"
      make clean
    fi
    make -j"$(nproc)"
  )
}
