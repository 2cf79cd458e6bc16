namespace MSaaS.Saga;

/// <summary>The states a stored song can be in (<see cref="SongStateMachine"/>'s, without Initial and Final, which are never stored).</summary>
public static class SongStates
{
    public static IReadOnlyList<string> All { get; } = ["Separating", "Encoding", "Notifying", "Completed", "Failed"];
}
