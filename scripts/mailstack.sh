#!/usr/bin/env bash
# mailstack.sh: a real Dovecot (IMAP, LMTP, Sieve) and Postfix (SMTP) on loopback for
# complaintbot's integration tests. Must run as root; needs no systemd.
#
#   scripts/mailstack.sh start    install if missing, (re)configure, start, wait for the ports
#   scripts/mailstack.sh stop     stop Dovecot and Postfix
#   scripts/mailstack.sh status   exit 0 when every port answers
#   scripts/mailstack.sh env      print the environment the Go tests read (eval it)
#
# Every command is idempotent. Settings come from the environment:
#   MAILSTACK_DIR        scratch dir: Dovecot config, passwd file, maildirs, logs
#                        (default /tmp/complaintbot-mailstack)
#   MAILSTACK_IMAP_PORT  Dovecot IMAP      (default 10143)
#   MAILSTACK_LMTP_PORT  Dovecot LMTP      (default 10024)
#   MAILSTACK_SMTP_PORT  Postfix smtpd     (default 10025)
#   MAILSTACK_DOMAINS    virtual mailbox domains, space separated, the first one is the
#                        default test domain (default "test.complaintbot.local customer.test")
#
# Postfix has one global configuration, so one stack runs per machine; starting with a new
# MAILSTACK_DIR stops the Dovecot of the previous one first.
set -euo pipefail

DIR=${MAILSTACK_DIR:-/tmp/complaintbot-mailstack}
IMAP_PORT=${MAILSTACK_IMAP_PORT:-10143}
LMTP_PORT=${MAILSTACK_LMTP_PORT:-10024}
SMTP_PORT=${MAILSTACK_SMTP_PORT:-10025}
DOMAINS=${MAILSTACK_DOMAINS:-test.complaintbot.local customer.test}
DOMAIN=${DOMAINS%% *}
CONF=$DIR/dovecot.conf
PASSWD=$DIR/passwd
USERS=$DIR/users
CURRENT=/tmp/complaintbot-mailstack.current
# Postfix writes maillog_file only under /var (maillog_file_prefixes).
POSTFIX_LOG=/var/log/complaintbot-postfix.log

log() { printf 'mailstack: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ports() { # want=open|closed, ports...
	local want=$1 p i
	shift
	for p in "$@"; do
		for ((i = 0; i < 200; i++)); do
			if port_open "$p"; then [[ $want == open ]] && break; else [[ $want == closed ]] && break; fi
			sleep 0.1
		done
		((i < 200)) || die "port 127.0.0.1:$p is not $want after 20s"
	done
}

install_packages() {
	if command -v dovecot >/dev/null && command -v postfix >/dev/null &&
		[[ -e /usr/lib/dovecot/lmtp && -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]]; then
		return
	fi
	log "installing dovecot and postfix"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	echo "postfix postfix/mailname string mailstack.$DOMAIN" | debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends \
		dovecot-imapd dovecot-lmtpd dovecot-sieve postfix >/dev/null
}

ensure_vmail() {
	id vmail >/dev/null 2>&1 || useradd -r -U -d /nonexistent -s /usr/sbin/nologin vmail
}

write_dovecot_conf() {
	local uid gid
	uid=$(id -u vmail)
	gid=$(id -g vmail)
	mkdir -p "$DIR/run" "$DIR/state" "$DIR/mail" "$USERS"
	chmod 0755 "$DIR"
	chown vmail:vmail "$DIR/mail"
	touch "$PASSWD"
	chmod 0644 "$PASSWD"
	cat >"$CONF.tmp" <<EOF
# Written by scripts/mailstack.sh; rewritten on every start.
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
info_log_path = $DIR/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with wrong passwords on purpose; do not make them wait.
auth_failure_delay = 0
first_valid_uid = $uid
last_valid_uid = $uid
mail_uid = $uid
mail_gid = $gid
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 1000
default_process_limit = 500
default_client_limit = 2000
# The Sieve vacation action sends its replies through our Postfix.
submission_host = 127.0.0.1:$SMTP_PORT
postmaster_address = postmaster@$DOMAIN
hostname = mailstack.$DOMAIN

# One passwd-file per user, named by the address: a new file is read at its first lookup,
# so a user exists the moment the file does. Dovecot stats a shared passwd-file at most once
# a second, so a line appended to \$PASSWD may take up to a second to count.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS/%Lu
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $PASSWD
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$DIR/mail/%Ld/%Ln
}

namespace inbox {
  inbox = yes
  separator = /
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}

protocol lmtp {
  mail_plugins = \$mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  # Let a test's vacation auto-responder answer every mail (":seconds 1"), the hardest
  # case for mail-loop protection.
  sieve_extensions = +vacation-seconds
  sieve_vacation_min_period = 0
}
EOF
	mv "$CONF.tmp" "$CONF"
}

configure_postfix() {
	# With "No configuration" Debian installs no main.cf; start from Debian's own minimal one.
	if ! grep -q '^# complaintbot mailstack' /etc/postfix/main.cf 2>/dev/null; then
		{ cat /usr/share/postfix/main.cf.debian; echo '# complaintbot mailstack'; } >/etc/postfix/main.cf
	fi
	[[ -s /etc/postfix/master.cf ]] || cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
	postconf -e \
		"compatibility_level = 3.6" \
		"myhostname = mailstack.$DOMAIN" \
		"myorigin = \$myhostname" \
		"inet_interfaces = loopback-only" \
		"inet_protocols = ipv4" \
		"mydestination =" \
		"relayhost =" \
		"alias_maps =" \
		"alias_database =" \
		"mynetworks = 127.0.0.0/8" \
		"virtual_mailbox_domains = $DOMAINS" \
		"virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT" \
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
		"smtpd_tls_security_level = none" \
		"smtp_tls_security_level = none" \
		"lmtp_tls_security_level = none" \
		"smtpd_peername_lookup = no" \
		"smtp_dns_support_level = disabled" \
		"smtpd_client_connection_rate_limit = 0" \
		"smtpd_client_connection_count_limit = 0" \
		"smtpd_client_message_rate_limit = 0" \
		"smtpd_client_recipient_rate_limit = 0" \
		"smtpd_client_new_tls_session_rate_limit = 0" \
		"smtpd_client_auth_rate_limit = 0" \
		"smtpd_error_sleep_time = 0" \
		"default_process_limit = 200" \
		"message_size_limit = 104857600" \
		"mailbox_size_limit = 0" \
		"queue_run_delay = 5s" \
		"minimal_backoff_time = 5s" \
		"maximal_backoff_time = 30s" \
		"maillog_file = $POSTFIX_LOG"
	postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
	postconf -M "127.0.0.1:$SMTP_PORT/inet=127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
	# Only our port listens; no chroot, so nothing needs copying into the spool.
	postconf -M# smtp/inet 2>/dev/null || true
	postconf -F '*/*/chroot = n'
}

# daemon LOG CMD...: run a command that leaves a daemon behind, which must not inherit our
# stdout/stderr (a caller reading them through a pipe would wait forever).
daemon() {
	local out=$1
	shift
	"$@" </dev/null >"$out" 2>&1 || { cat "$out" >&2; die "$* failed"; }
}

dovecot_running() { [[ -f $CONF ]] && doveadm -c "$CONF" service status >/dev/null 2>&1; }

# A stack started from another MAILSTACK_DIR holds our ports: stop its Dovecot.
stop_previous() {
	local prev
	prev=$(cat "$CURRENT" 2>/dev/null || true)
	if [[ -n $prev && $prev != "$DIR" && -f $prev/dovecot.conf ]]; then
		log "stopping the Dovecot of $prev"
		doveadm -c "$prev/dovecot.conf" stop 2>/dev/null || true
	fi
	echo "$DIR" >"$CURRENT"
}

start() {
	[[ $(id -u) == 0 ]] || die "must run as root"
	install_packages
	ensure_vmail
	stop_previous
	write_dovecot_conf
	if dovecot_running; then
		doveadm -c "$CONF" reload
	else
		wait_ports closed "$IMAP_PORT" "$LMTP_PORT"
		daemon "$DIR/dovecot.start.log" dovecot -c "$CONF"
	fi
	configure_postfix
	postfix check
	if postfix status >/dev/null 2>&1; then
		daemon "$DIR/postfix.start.log" postfix reload
	else
		daemon "$DIR/postfix.start.log" postfix start
	fi
	wait_ports open "$IMAP_PORT" "$LMTP_PORT" "$SMTP_PORT"
	log "running: IMAP 127.0.0.1:$IMAP_PORT, LMTP 127.0.0.1:$LMTP_PORT, SMTP 127.0.0.1:$SMTP_PORT, dir $DIR"
}

stop() {
	if [[ -f $CONF ]]; then doveadm -c "$CONF" stop 2>/dev/null || true; fi
	if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then postfix stop 2>/dev/null; fi
	wait_ports closed "$IMAP_PORT" "$LMTP_PORT" "$SMTP_PORT"
	log "stopped"
}

status() {
	local p rc=0
	for p in "$IMAP_PORT" "$LMTP_PORT" "$SMTP_PORT"; do
		if port_open "$p"; then log "127.0.0.1:$p answers"; else log "127.0.0.1:$p is down"; rc=1; fi
	done
	return $rc
}

print_env() {
	printf 'export COMPLAINTBOT_MAILSTACK=1'
	printf ' MAILSTACK_IMAP=127.0.0.1:%s MAILSTACK_SMTP=127.0.0.1:%s MAILSTACK_LMTP=127.0.0.1:%s' \
		"$IMAP_PORT" "$SMTP_PORT" "$LMTP_PORT"
	printf ' MAILSTACK_PASSWD=%q MAILSTACK_USERS=%q MAILSTACK_DOMAIN=%q MAILSTACK_DOMAINS=%q' "$PASSWD" "$USERS" "$DOMAIN" "$DOMAINS"
	printf ' MAILSTACK_DIR=%q MAILSTACK_DOVECOT_CONF=%q\n' "$DIR" "$CONF"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
env) print_env ;;
*) die "usage: $0 start|stop|status|env" ;;
esac
