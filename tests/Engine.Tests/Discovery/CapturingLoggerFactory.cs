using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Discovery;

/// <summary>Keeps every formatted log line of every node, tagged with its category, for asserting what an operator would read.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(string Category, LogLevel Level, int EventId, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IEnumerable<string> Messages(int eventId) => Lines.Where(l => l.EventId == eventId).Select(l => l.Message);

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((category, logLevel, eventId.Id, formatter(state, exception)));
    }
}
