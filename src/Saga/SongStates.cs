namespace MSaaS.Saga;

/// <summary>
/// The states a stored song can be in (<see cref="SongStateMachine"/>'s, without Initial and Final, which are never
/// stored), named after the machine's own state properties: a typo is a compile error, and a state renamed there is
/// renamed here.
/// </summary>
public static class SongStates
{
    public const string Separating = nameof(SongStateMachine.Separating);
    public const string Encoding = nameof(SongStateMachine.Encoding);
    public const string Notifying = nameof(SongStateMachine.Notifying);
    public const string Completed = nameof(SongStateMachine.Completed);
    public const string Failed = nameof(SongStateMachine.Failed);

    public static IReadOnlyList<string> All { get; } = [Separating, Encoding, Notifying, Completed, Failed];

    /// <summary>The states of a song still in the pipeline.</summary>
    public static IReadOnlyList<string> InFlight { get; } = [Separating, Encoding, Notifying];
}
