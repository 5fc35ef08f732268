package main

import (
	"complaintbot/configs"
	"complaintbot/ingest"
	"complaintbot/notify"
	"complaintbot/router"
)

// notifyTelegram is the notifier's Telegram sender config; nil when the
// bot is off (telegram rows then fail as unserved, which only happens if
// the bot was on before).
func notifyTelegram(cfg *configs.Config, deps daemonDeps) *notify.TelegramOptions {
	if !cfg.Telegram.Enabled {
		return nil
	}
	return &notify.TelegramOptions{Token: cfg.Telegram.Token.Value(), APIEndpoint: cfg.Telegram.MethodURL(),
		PerChat: deps.TelegramPerChat, PerSecond: deps.TelegramPerSecond}
}

// addTelegram adds the bot's long-polling source when the bot is on.
func (d *daemon) addTelegram(deps daemonDeps, r *router.Router) error {
	tg := d.cfg.Telegram
	if !tg.Enabled {
		return nil
	}
	src, err := ingest.NewTelegramSource(ingest.TelegramOptions{
		Token: tg.Token.Value(), APIEndpoint: tg.MethodURL(), PollTimeout: tg.PollTimeout.D(),
		MaxAttachmentBytes: d.cfg.Store.MaxAttachmentBytes, Store: d.st, Sink: r,
		Logger: d.log.With("component", "ingest", "source", "telegram"), Now: deps.Now, Registerer: d.reg,
	})
	if err != nil {
		return err
	}
	d.sources = append(d.sources, src)
	return nil
}

// checkName names a source in /healthz.
func checkName(s ingest.Source) string {
	if _, ok := s.(*ingest.TelegramSource); ok {
		return s.Name()
	}
	return "inbox:" + s.Name()
}
