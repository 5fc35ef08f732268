package notify

import (
	"fmt"
	"strings"
	"testing"
)

const notKeptJSON = `[{"name":"video.mp4","size":36700160,"why":"too_large"},` +
	`{"name":"<script>alert(1)</script>.pdf","size":10,"why":"unreadable"}]`

func TestAckTellsWhichFilesWereNotKept(t *testing.T) {
	tests := []struct {
		lang string
		want []string // in the text part, in this order
	}{
		{"en", []string{"as complaint C-2026-000123.", "Some of the files you sent could not be kept:",
			"- video.mp4 (36.7 MB): too large", "- <script>alert(1)</script>.pdf (10 bytes): could not be read",
			"- and 3 more file(s)", "Please send them another way", "download link", "What happens next:"}},
		{"ru", []string{"под номером C-2026-000123.", "сохранить не удалось:",
			"- video.mp4 (36,7 МБ): слишком большой файл", "(10 байт): файл не удалось прочитать",
			"- и ещё файлов: 3", "пришлите их другим способом", "Что будет дальше:"}},
		{"lt", []string{"numeriu C-2026-000123.", "išsaugoti nepavyko:",
			"- video.mp4 (36,7 MB): per didelis failas", "(10 B): failo nepavyko perskaityti",
			"- ir dar failų: 3", "atsiųsti kitu būdu", "Kas bus toliau:"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			n := ackRow(tt.lang, "Ann", "ann@customer.test", "Video")
			n.Data["number"] = "C-2026-000123"
			n.Data[dataNotKept] = notKeptJSON
			n.Data[dataNotKeptTotal] = "5"
			r, err := RenderWith(n, RenderOptions{Location: vilnius})
			if err != nil {
				t.Fatal(err)
			}
			assertInOrder(t, "text", r.Text, tt.want)
			if strings.Contains(r.Text, ":\n\n- video") {
				t.Errorf("blank line before the list:\n%s", r.Text)
			}
			if !strings.Contains(r.HTML, "<li>video.mp4 (") || strings.Contains(r.HTML, "<script>") ||
				!strings.Contains(r.HTML, "&lt;script&gt;") {
				t.Errorf("HTML list missing or unescaped:\n%s", r.HTML)
			}
		})
	}
}

func TestAckWithoutNotKeptSaysNothingAboutFiles(t *testing.T) {
	for _, lang := range []string{"en", "ru", "lt"} {
		n := ackRow(lang, "Ann", "ann@customer.test", "Video")
		n.Data["number"] = "C-2026-000123"
		r, err := RenderWith(n, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"could not be kept", "сохранить не удалось", "išsaugoti nepavyko", "<ul>\n</ul>"} {
			if strings.Contains(r.Text, s) || strings.Contains(r.HTML, s) {
				t.Errorf("%s: ack without a not-kept list says %q", lang, s)
			}
		}
	}
}

func TestRenderNotKeptNotice(t *testing.T) {
	for lang, want := range map[string][]string{
		"en": {"Dear Ann,", "added it to complaint C-2026-000123", "- video.mp4 (36.7 MB): too large", "another way", "Kind regards"},
		"ru": {"Здравствуйте, Ann!", "к обращению C-2026-000123", "- video.mp4 (36,7 МБ): слишком большой файл", "С уважением"},
		"lt": {"Laba diena!", "kreipimosi C-2026-000123", "- video.mp4 (36,7 MB): per didelis failas", "Pagarbiai"},
	} {
		n := ackRow(lang, "Ann", "ann@customer.test", "Video")
		n.Kind = "not_kept"
		n.Data["number"] = "C-2026-000123"
		n.Data[dataNotKept] = notKeptJSON
		r, err := RenderWith(n, RenderOptions{})
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		assertInOrder(t, lang, r.Text, want)
		if !strings.Contains(r.Subject, "[C-2026-000123]") || !strings.Contains(r.HTML, "<li>video.mp4") {
			t.Errorf("%s: subject %q, html:\n%s", lang, r.Subject, r.HTML)
		}
	}
	n := ackRow("en", "Ann", "ann@customer.test", "Video")
	n.Kind, n.Data["number"] = "not_kept", "C-2026-000123"
	if _, err := RenderWith(n, RenderOptions{}); err == nil {
		t.Error("a not_kept notice without a list rendered")
	}
}

func TestNotKeptViewIsBounded(t *testing.T) {
	var entries []string
	for i := range 300 {
		entries = append(entries, fmt.Sprintf(`{"name":"%s-%d\r\nBcc: x","size":1,"why":"too_large"}`, strings.Repeat("a", 500), i))
	}
	files, more := notKeptView(map[string]string{dataNotKept: "[" + strings.Join(entries, ",") + "]", dataNotKeptTotal: "2"}, "en")
	if len(files) != maxFilesShown || more != 300-maxFilesShown {
		t.Errorf("%d files shown, %d more; want %d and %d", len(files), more, maxFilesShown, 300-maxFilesShown)
	}
	for _, f := range files {
		if len([]rune(f.Name)) > maxFileNameRunes+1 || strings.ContainsAny(f.Name, "\r\n") {
			t.Fatalf("name %q", f.Name)
		}
	}
	if files, more := notKeptView(map[string]string{dataNotKept: "{broken"}, "en"); files != nil || more != 0 {
		t.Errorf("broken list gave %v, %d", files, more)
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n          int64
		lang, want string
	}{
		{0, "en", "0 bytes"}, {999, "ru", "999 байт"}, {1000, "en", "1.0 KB"}, {60_000, "lt", "60,0 KB"},
		{52_428_800, "ru", "52,4 МБ"}, {52_428_800, "en", "52.4 MB"}, {3 << 40, "en", "3298.5 GB"}, {-5, "en", "0 bytes"},
	}
	for _, tt := range tests {
		if got := formatSize(tt.n, tt.lang); got != tt.want {
			t.Errorf("formatSize(%d, %s) = %q, want %q", tt.n, tt.lang, got, tt.want)
		}
	}
}

// FuzzNotKeptList: whatever the row's not-kept list and count hold, the ack
// renders, lists at most maxFilesShown files on lines of their own and
// escapes them in HTML.
func FuzzNotKeptList(f *testing.F) {
	f.Add(notKeptJSON, "5", "en")
	f.Add(`[{"name":"a\u2028b","size":-1,"why":"x"}]`, "-3", "ru")
	f.Add(`[{"name":null}]`, "99999999999999999999", "lt")
	f.Add(`not json`, "", "")
	f.Fuzz(func(t *testing.T, list, total, lang string) {
		n := ackRow(lang, "Ann", "ann@customer.test", "Video")
		n.Data["number"] = "C-2026-000123"
		n.Data[dataNotKept], n.Data[dataNotKeptTotal] = list, total
		r, err := RenderWith(n, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "<script") {
			t.Fatal("unescaped markup in HTML")
		}
		if lines := strings.Count(r.Text, "\n- "); lines > maxFilesShown+1+3 { // + "more" + the 3 fixed points
			t.Fatalf("%d list lines", lines)
		}
		if _, err := Compose(n, r, testFrom, composeDate); err != nil {
			t.Fatal(err)
		}
	})
}
