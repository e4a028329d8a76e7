package config

import (
	"io"
	"log/slog"
	"os"
)

// Logger returns a JSON logger at LogLevel writing to standard error
// (standard output is left to commands that print results).
func (c Config) Logger() *slog.Logger {
	return c.logger(os.Stderr)
}

func (c Config) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		// Load only produces valid levels; a hand-built Config gets info.
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
