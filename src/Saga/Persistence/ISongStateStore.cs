using MSaaS.Saga;

namespace MSaaS.Saga.Persistence;

/// <summary>
/// Where song sagas live: in memory (embedded mode) or in Redis (distributed). Optimistic concurrency: every
/// update names the version it was loaded at, and loses (<see cref="MassTransit.ConcurrencyException"/>) when
/// another update came first; an insert never overwrites.
/// </summary>
public interface ISongStateStore
{
    /// <summary>The song, with <see cref="SongState.Version"/> as stored; null when there is none.</summary>
    Task<SongState?> LoadAsync(Guid songId, CancellationToken cancellationToken = default);

    /// <summary>Stores a new song at version 1; false (and nothing written) when the id exists.</summary>
    Task<bool> InsertAsync(SongState song, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="song"/> if the stored version is still its <see cref="SongState.Version"/>, and bumps it.</summary>
    Task UpdateAsync(SongState song, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the song; with <paramref name="version"/>, only if it is still stored at that version (a song removed
    /// from outside the saga must not be deleted after a new submission moved it on); false when nothing was deleted.
    /// </summary>
    Task<bool> DeleteAsync(Guid songId, int? version = null, CancellationToken cancellationToken = default);

    /// <summary>Songs matching <paramref name="query"/>, most recently updated first.</summary>
    Task<IReadOnlyList<SongState>> QueryAsync(SongQuery query, CancellationToken cancellationToken = default);

    /// <summary>Ids of songs whose stage deadline is at or before <paramref name="now"/>.</summary>
    Task<IReadOnlyList<Guid>> OverdueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many songs each state holds, and the oldest last update among them (the metrics' gauges).</summary>
    Task<IReadOnlyList<StateCensus>> CensusAsync(CancellationToken cancellationToken = default);
}

/// <summary>The songs in one saga state: how many, and when the one least recently heard of was last updated.</summary>
public sealed record StateCensus(string State, long Songs, DateTimeOffset? OldestUpdate);

/// <summary>A support-staff filter over songs.</summary>
public sealed record SongQuery
{
    /// <summary>Only songs in one of these states (e.g. "Failed"); empty for any.</summary>
    public IReadOnlyCollection<string> States { get; init; } = [];

    /// <summary>Only songs last updated before this moment (older than ...).</summary>
    public DateTimeOffset? UpdatedBefore { get; init; }

    /// <summary>Only songs last updated after this moment (newer than ...).</summary>
    public DateTimeOffset? UpdatedAfter { get; init; }

    public int Limit { get; init; } = 100;

    public bool Matches(SongState song) =>
        (States.Count == 0 || States.Contains(song.CurrentState, StringComparer.OrdinalIgnoreCase)) &&
        (UpdatedBefore is not { } before || song.UpdatedAt < before) &&
        (UpdatedAfter is not { } after || song.UpdatedAt > after);
}
