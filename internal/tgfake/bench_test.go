package tgfake

import (
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// BenchmarkSendMessage is the fake's sendMessage path end to end: the
// library encodes the form, the fake parses it, checks the HTML and the
// keyboard, records the message and answers.
func BenchmarkSendMessage(b *testing.B) {
	s := New(Options{NoRateLimit: true})
	defer s.Close()
	bot, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.APIEndpoint(), s.Client())
	if err != nil {
		b.Fatal(err)
	}
	for c := int64(1); c <= 1000; c++ {
		s.AddChat(c)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Take", "take:1")))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int64(0)
		for pb.Next() {
			i++
			msg := tgbotapi.NewMessage(1+i%1000, "We have registered your complaint <b>C-2026-000123</b>.")
			msg.ParseMode = tgbotapi.ModeHTML
			msg.ReplyMarkup = kb
			if _, err := bot.Send(msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkGetUpdates is a batch of 100 updates through getUpdates.
func BenchmarkGetUpdates(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	bot, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.APIEndpoint(), s.Client())
	if err != nil {
		b.Fatal(err)
	}
	offset := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for range 100 {
			s.PushText(7, 7, "The parcel arrived damaged, please help", "en")
		}
		b.StartTimer()
		ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{Offset: offset})
		if err != nil || len(ups) != 100 {
			b.Fatalf("%d updates, %v", len(ups), err)
		}
		offset = ups[99].UpdateID + 1
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "updates/s")
}
