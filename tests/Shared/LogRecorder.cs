using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MSaaS.Testing;

/// <summary>A logger provider that keeps every entry, for tests that check what a service logs.</summary>
internal sealed class LogRecorder : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(LogRecorder owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue(new LogEntry(logLevel, category, formatter(state, exception), exception));
    }
}

internal sealed record LogEntry(LogLevel Level, string Category, string Message, Exception? Exception);
