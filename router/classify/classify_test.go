package classify

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAmounts(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name, text, amount, currency string
	}{
		{"ru spaced rub", "Товар сломался, стоил 15 000 руб.", "15000", "RUB"},
		{"ru glued r", "Товар сломался, стоил 15000р", "15000", "RUB"},
		{"ru thousand decimal", "Товар сломался, стоил 1,5 тыс. рублей", "1500", "RUB"},
		{"ru thousand", "Товар сломался, стоил 2 тыс. руб", "2000", "RUB"},
		{"ru nbsp rouble sign", "Товар сломался, стоил 7\u00a0800 ₽", "7800", "RUB"},
		{"ru kopecks", "Товар сломался, стоил 1 500,50 руб.", "1500.5", "RUB"},
		{"euro prefix", "The kettle is broken, it cost €120.", "120", "EUR"},
		{"lt eurų", "Virdulys sugedo, kainavo 120 eurų.", "120", "EUR"},
		{"code after", "The kettle is broken, it cost 120 EUR.", "120", "EUR"},
		{"code before", "The kettle is broken, it cost USD 300.", "300", "USD"},
		{"dollar cents", "The kettle is broken, it cost $45.99.", "45.99", "USD"},
		{"comma decimal euro", "The kettle is broken, it cost 45,99 €.", "45.99", "EUR"},
		{"english thousands", "The sofa is broken, it cost $1,250.00.", "1250", "USD"},
		{"lt thousand", "Sofa sugedo, kainavo 2,5 tūkst. eurų.", "2500", "EUR"},
		{"order number is no amount", "Заказ №48213 не доставили, курьер не приехал.", "", ""},
		{"phone is no amount", "Курьер не приехал, тел. +7 916 123-45-67", "", ""},
		{"claim cue wins", "Товар стоил 2 000 руб., сломался, требую 20 000 руб. компенсации.", "20000", "RUB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify("", tt.text)
			if !r.IsComplaint {
				t.Fatalf("not a complaint: %v", r.Why)
			}
			if r.Amount != tt.amount || r.Currency != tt.currency {
				t.Errorf("amount %q %q, want %q %q", r.Amount, r.Currency, tt.amount, tt.currency)
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ name, text, lang string }{
		{"ru", "Здравствуйте, мой заказ так и не привезли.", "ru"},
		{"lt diacritics", "Laba diena, užsakymas vis dar nepristatytas.", "lt"},
		{"lt without diacritics", "Laba diena, mano uzsakymas dar negautas, kodel taip ilgai?", "lt"},
		{"en", "Hello, my order has not arrived yet.", "en"},
		{"ru with english product", "Купил iPhone 15 Pro Max, а он не включается, Apple Store не помог.", "ru"},
		{"lt with english words", "Sveiki, mano Samsung Galaxy telefonas neveikia nuo pirmos dienos.", "lt"},
		{"ru with links", "@shop смотрите https://t.co/abcdefgh что вы прислали мне вчера", "ru"},
		{"uk", "Вітаю, мені дуже потрібна допомога, замовлення не прийшло", "uk"},
		{"de", "Guten Tag, meine Bestellung ist nicht angekommen und ich bin sehr unzufrieden.", "de"},
		{"no letters", "12345 !!! ???", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Classify("", tt.text).Lang; got != tt.lang {
				t.Errorf("lang %q, want %q", got, tt.lang)
			}
		})
	}
}

func TestCategories(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ name, text, category, cause string }{
		{"quality ru", "Пылесос сломался через неделю, это брак.", "quality", "objective"},
		{"quality lt", "Skalbyklė sugedo po savaitės, tai brokas.", "quality", "objective"},
		{"quality subjective en", "The sofa is broken and I expected much better quality.", "quality", "subjective"},
		{"delivery ru", "Курьер не приехал, заказ до сих пор не доставили.", "delivery", "objective"},
		{"delivery lt", "Kurjeris neatvyko, siuntinys vis dar nėra pristatytas.", "delivery", "objective"},
		{"delivery en", "My parcel has not arrived, the courier never showed up.", "delivery", "objective"},
		{"service ru", "Оператор нагрубил мне и бросил трубку.", "service", "subjective"},
		{"service lt", "Operatorė buvo nemandagi ir padėjo ragelį.", "service", "subjective"},
		{"service en", "Your agent was rude and hung up on me.", "service", "subjective"},
		{"billing ru", "С карты дважды списали деньги за один заказ.", "billing", "objective"},
		{"billing lt", "Iš kortelės du kartus nuskaičiavo pinigus.", "billing", "objective"},
		{"billing en", "I was charged twice for the same order.", "billing", "objective"},
		{"misinformation ru", "Продавец уверял, что гарантия два года, а оказалось, что один.", "misinformation", "subjective"},
		{"misinformation lt", "Pardavėjas tvirtino, kad garantija dveji metai, o paaiškėjo, kad vieneri.", "misinformation", "subjective"},
		{"misinformation en", "The agent told me it was waterproof, it turned out it was not. I was misled.", "misinformation", "subjective"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify("", tt.text)
			if !r.IsComplaint || r.Category != tt.category || r.Cause != tt.cause {
				t.Errorf("complaint=%v %q %q, want %q %q; why %v", r.IsComplaint, r.Category, r.Cause, tt.category, tt.cause, r.Why)
			}
		})
	}
}

func TestNotComplaints(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ name, text, kind string }{
		{"thanks ru", "Спасибо большое, всё пришло вовремя!", "thanks"},
		{"thanks lt", "Labai ačiū, viskas puiku!", "thanks"},
		{"problem solved", "Проблема решена, спасибо!", "thanks"},
		{"mere mention lt", "Jokių problemų, viskas gerai, ačiū.", "thanks"},
		{"mere mention en", "No problem at all, thank you!", "thanks"},
		{"question ru", "Подскажите, во сколько вы открываетесь?", "question"},
		{"question en", "What are your opening hours?", "question"},
		{"quote", "Пришлите, пожалуйста, прайс-лист на опт.", "quote_request"},
		{"job", "Направляю резюме на вакансию водителя.", "job_application"},
		{"spam", "Раскрутка сайтов без вложений, только сегодня!", "spam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify("", tt.text)
			if r.IsComplaint || r.NotComplaint != tt.kind || r.Category != "" {
				t.Errorf("complaint=%v kind %q category %q, want kind %q; why %v", r.IsComplaint, r.NotComplaint, r.Category, tt.kind, r.Why)
			}
		})
	}
}

// TestStems checks that inflected forms and diacritic-free spellings match
// the stems of the rules.
func TestStems(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct{ name, text, want string }{
		{"ru refund forms", "Товар бракованный. Верните деньги.", "refund"},
		{"ru replacement forms", "Товар бракованный, прошу произвести обмен.", "replacement"},
		{"lt refund", "Prekė sugedo. Grąžinkite pinigus.", "refund"},
		{"lt refund no diacritics", "Preke sugedo. Grazinkite pinigus.", "refund"},
		{"lt repair forms", "Prekė sugedo, prašau suremontuoti.", "repair"},
		{"ru ё folded", "Утюг сломался. Жду извинений и объяснений, почему так произошло.", "explanation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify("", tt.text)
			if !r.IsComplaint || !slices.Contains(r.Wants, tt.want) {
				t.Errorf("complaint=%v wants %v, want %q; why %v", r.IsComplaint, r.Wants, tt.want, r.Why)
			}
		})
	}
}

func TestExtremism(t *testing.T) {
	c := newTestClassifier(t)
	hint := c.Classify("", "Пользуюсь чайником уже три года, он сломался. Требую неустойку и моральный вред 500 000 руб., иначе подам в суд.")
	if !hint.IsComplaint || !hint.ExtremismHint {
		t.Errorf("long use + penalty: %+v", hint)
	}
	plain := c.Classify("", "Чайник сломался через неделю, прошу вернуть 2 500 руб.")
	if plain.ExtremismHint {
		t.Errorf("an ordinary refund demand is flagged: %v", plain.Why)
	}
	if !ExtremismFromHistory(3, 7*24*time.Hour) || ExtremismFromHistory(1, time.Hour) || ExtremismFromHistory(5, 365*24*time.Hour) {
		t.Error("history hint: want 3 in a week flagged, 1 in an hour and 5 in a year not")
	}
}

func TestRulesErrors(t *testing.T) {
	for name, y := range map[string]string{
		"unknown key":  "threshold: 2\nthreshhold: 3\n",
		"short stem":   "threshold: 2\ncategories: [{name: q, cause: objective, terms: {en: [\"a*\"]}}]\nfallback_category: other\n",
		"bad cause":    "threshold: 2\ncategories: [{name: q, cause: maybe}]\nfallback_category: other\n",
		"bad weight":   "threshold: 2\ncomplaint: {en: [\"bad ^x\"]}\ncategories: [{name: q, cause: objective}]\nfallback_category: other\n",
		"no threshold": "categories: [{name: q, cause: objective}]\nfallback_category: other\n",
	} {
		if _, err := ParseRules([]byte(y)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestCustomRules shows that a company can change the taxonomy without a rebuild.
func TestCustomRules(t *testing.T) {
	y := `threshold: 1
complaint: {en: ["slow*"]}
categories:
  - {name: speed, cause: objective, terms: {en: ["slow*"]}}
fallback_category: misc
currencies: [{code: EUR, symbols: ["€"], words: ["eur*"]}]
languages: [{code: en, script: latin, stopwords: [the]}]
`
	r, err := ParseRules([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Rules: r})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Classify("", "The app is slower every day, I paid €10")
	if !got.IsComplaint || got.Category != "speed" || got.Amount != "10" || got.Currency != "EUR" {
		t.Errorf("custom rules: %+v", got)
	}
}

func TestHostileInput(t *testing.T) {
	c := newTestClassifier(t)
	for name, text := range map[string]string{
		"invalid utf8": "\xff\xfe сломался \xc3",
		"huge":         strings.Repeat("не работает 15 000 руб. ", 100000),
		"digits":       strings.Repeat("1 000 ", 5000),
		"empty":        "",
	} {
		r := c.Classify(name, text)
		if r.Wants == nil || !utf8.ValidString(r.Amount) {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	c := newTestClassifier(b)
	exs := loadExamples(b, "dev.jsonl")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := exs[i%len(exs)]
		c.Classify(e.Subject, e.Text)
	}
}

func FuzzClassify(f *testing.F) {
	c := newTestClassifier(f)
	for _, s := range []string{"15 000 руб.", "€120", "1,5 тыс. рублей", "$1,250.00", "45,99 €", "2 тыс.", "0.500 k eur", "не работает", "ačiū"} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, subject, text string) {
		r := c.Classify(subject, text)
		if r.IsComplaint == (r.Category == "") {
			t.Errorf("complaint=%v with category %q", r.IsComplaint, r.Category)
		}
		if r.Amount != "" && r.Currency == "" {
			t.Errorf("amount %q without currency", r.Amount)
		}
	})
}

// BenchmarkDetectLang measures the language detector alone (whatlanggo
// restricted to ru/lt/en took 200-470 µs per message of these sets).
func BenchmarkDetectLang(b *testing.B) {
	c := newTestClassifier(b)
	exs := loadExamples(b, "dev.jsonl")
	toks := make([][]token, len(exs))
	for i, e := range exs {
		toks[i] = tokenize(clip(e.Subject+"\n"+e.Text, maxText))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := exs[i%len(exs)]
		c.lang.detect(e.Subject+"\n"+e.Text, stopTokens(toks[i%len(exs)]))
	}
}
