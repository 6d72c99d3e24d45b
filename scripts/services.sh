#!/usr/bin/env bash
# Source this: makes sure the machine's PostgreSQL and Redis answer (starting them if they are
# installed but down) and exports DATABASE_URL / REDIS_URL for them. Where neither is installed
# it exports nothing, and Appointly (and the tests) use the embedded servers instead.

pg_answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if command -v pg_isready >/dev/null 2>&1; then
    if ! pg_answers && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "starting the machine's PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
        for _ in $(seq 1 50); do pg_answers && break; sleep 0.2; done
    fi
    if pg_answers; then
        export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
    fi
fi

if command -v redis-server >/dev/null 2>&1; then
    if ! redis_answers; then
        echo "starting the machine's Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
        for _ in $(seq 1 50); do redis_answers && break; sleep 0.2; done
    fi
    if redis_answers; then
        export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
    fi
fi

echo "PostgreSQL: ${DATABASE_URL:-embedded}; Redis: ${REDIS_URL:-embedded}"
