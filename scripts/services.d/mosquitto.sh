# Sourced by scripts/services.sh: an MQTT broker for the `dis` (MQTT) sink tests. Uses the one on
# 127.0.0.1:1883 when it answers; otherwise installs Debian's mosquitto and starts it there.
if [ -z "${VIGIL_TEST_MQTT_URL:-}" ]; then
  if ! port_open 1883; then
    svc_log "no MQTT broker on 127.0.0.1:1883: installing and starting mosquitto"
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
    }
    conf=$(mktemp /tmp/vigil-mosquitto.XXXXXX.conf)
    printf 'listener 1883 127.0.0.1\nallow_anonymous true\n' >"$conf"
    mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    $mosq -d -c "$conf"
    for _ in $(seq 1 30); do port_open 1883 && break; sleep 0.2; done
  fi
  export VIGIL_TEST_MQTT_URL="mqtt://127.0.0.1:1883"
fi
svc_log "MQTT: $VIGIL_TEST_MQTT_URL"
