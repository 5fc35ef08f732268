package tgfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxUpload caps a request body, like the Bot API's 50 MB upload limit.
const maxUpload = 50 << 20

// params are a request's parameters, as strings the way a form carries
// them (a JSON object or array value is kept as its JSON text), plus the
// files of a multipart request.
type params struct {
	values map[string]string
	files  map[string]upload
}

// upload is one file of a multipart request.
type upload struct {
	name        string
	contentType string
	data        []byte
}

// parseParams reads the query string and the body: a form, a multipart
// form or a JSON object, as the Bot API accepts.
func parseParams(r *http.Request) (params, error) {
	p := params{values: map[string]string{}, files: map[string]upload{}}
	for k, v := range r.URL.Query() {
		p.values[k] = v[0]
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return p, nil
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
	switch mediaType {
	case "application/json":
		return p, p.readJSON(r.Body)
	case "multipart/form-data":
		return p, p.readMultipart(r)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return p, err
		}
		for k, v := range r.PostForm {
			p.values[k] = v[0]
		}
	}
	return p, nil
}

func (p params) readJSON(body io.Reader) error {
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(body).Decode(&obj); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("can't parse JSON object: %w", err)
	}
	for k, raw := range obj {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			p.values[k] = s
			continue
		}
		p.values[k] = string(bytes.TrimSpace(raw))
	}
	return nil
}

func (p params) readMultipart(r *http.Request) error {
	if err := r.ParseMultipartForm(maxUpload); err != nil {
		return err
	}
	for k, v := range r.MultipartForm.Value {
		p.values[k] = v[0]
	}
	for k, fhs := range r.MultipartForm.File {
		f, err := fhs[0].Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		p.files[k] = upload{name: fhs[0].Filename, contentType: fhs[0].Header.Get("Content-Type"), data: data}
	}
	return nil
}

func (p params) str(key string) string { return p.values[key] }

// int64 reads an integer parameter; absent is 0, malformed is an error.
func (p params) int64(key string) (int64, *apiError) {
	v := strings.TrimSpace(p.values[key])
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s specified", key)
	}
	return n, nil
}

// chatID reads the required chat_id. Usernames (@channel) are not served.
func (p params) chatID() (int64, *apiError) {
	if strings.TrimSpace(p.values["chat_id"]) == "" {
		return 0, badRequest("chat_id is empty")
	}
	id, e := p.int64("chat_id")
	if e != nil {
		return 0, badRequest("chat not found")
	}
	return id, nil
}

func (p params) bool(key string) bool {
	b, _ := strconv.ParseBool(p.values[key])
	return b
}
