package api

import (
	"io"
	"net/http/httptest"
	"testing"
)

// The benchmarks run on 10,000 complaints, each with one message (and an
// attachment), two events and an ack.
func BenchmarkExport(b *testing.B) {
	for _, format := range []string{FormatJSONL, FormatCSV} {
		b.Run(format, func(b *testing.B) {
			st := openStoreTB(b)
			seedMany(b, st, 10_000)
			for b.Loop() {
				if err := Export(b.Context(), st, io.Discard, format); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "complaints/s")
		})
	}
}

func BenchmarkListComplaints(b *testing.B) {
	st := openStoreTB(b)
	seedMany(b, st, 10_000)
	h := New(Options{Store: st, Token: testToken})
	for b.Loop() {
		req := httptest.NewRequest("GET", "/api/complaints?limit=100", nil)
		req.Header.Set("Authorization", bearer)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
