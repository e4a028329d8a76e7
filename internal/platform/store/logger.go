package store

import (
	"context"
	"log/slog"
	"time"

	gormlogger "gorm.io/gorm/logger"
)

// slowLogger keeps gorm silent except for slow queries. Errors are returned
// to callers (who wrap and log them), so logging them here would duplicate
// them. The SQL is logged with placeholders, never with its arguments, which
// may carry the customer's PII.
type slowLogger struct {
	log       *slog.Logger
	threshold time.Duration
}

func newSlowLogger(l *slog.Logger, threshold time.Duration) gormlogger.Interface {
	return &slowLogger{log: l, threshold: threshold}
}

func (l *slowLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

func (l *slowLogger) Info(context.Context, string, ...any)  {}
func (l *slowLogger) Warn(context.Context, string, ...any)  {}
func (l *slowLogger) Error(context.Context, string, ...any) {}

func (l *slowLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	if l.threshold <= 0 {
		return
	}
	elapsed := time.Since(begin)
	if elapsed < l.threshold {
		return
	}
	sql, rows := fc()
	l.log.LogAttrs(ctx, slog.LevelWarn, "slow query",
		slog.Duration("elapsed", elapsed), slog.Int64("rows", rows), slog.String("sql", sql))
}

// ParamsFilter drops the arguments from the SQL passed to Trace.
func (l *slowLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
