package tgfake

import (
	"net/http"
	"path"
	"strconv"
	"strings"
)

// file is a file the server holds: pushed by a user or uploaded by the bot.
type file struct {
	id          string // file_id, what getFile takes
	unique      string // file_unique_id
	path        string // file_path, under /file/bot<token>/
	name        string
	contentType string
	data        []byte
}

// addFileLocked stores data under a fresh id in dir ("photos", "documents",
// "voice"), keeping the extension of name.
func (s *Server) addFileLocked(dir, name, contentType string, data []byte) *file {
	s.fileSeq++
	n := strconv.Itoa(s.fileSeq)
	f := &file{
		id:          "BQACAgIAAx" + n + "-" + strconv.FormatInt(s.botID, 36),
		unique:      "AgAD" + n,
		path:        dir + "/file_" + n + path.Ext(name),
		name:        name,
		contentType: contentType,
		data:        data,
	}
	s.files[f.id] = f
	s.paths[f.path] = f
	return f
}

// photoSize is a PhotoSize object for f at a nominal square width.
func (f *file) photoSize(width int) map[string]any {
	return map[string]any{"file_id": f.id, "file_unique_id": f.unique, "width": width, "height": width, "file_size": len(f.data)}
}

func (s *Server) getFile(_ *http.Request, p params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[p.str("file_id")]
	if !ok {
		return nil, badRequest("invalid file_id")
	}
	if int64(len(f.data)) > s.o.MaxDownload {
		return nil, badRequest("file is too big")
	}
	return map[string]any{"file_id": f.id, "file_unique_id": f.unique, "file_size": len(f.data), "file_path": f.path}, nil
}

// serveFile serves GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, rest string) {
	token, p, ok := strings.Cut(rest, "/")
	if !ok || token != s.o.Token {
		writeError(w, errUnauthorized)
		return
	}
	s.mu.Lock()
	found, ok := s.paths[p]
	s.mu.Unlock()
	if !ok || int64(len(found.data)) > s.o.MaxDownload {
		writeError(w, errNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(found.data)))
	w.Write(found.data)
}
