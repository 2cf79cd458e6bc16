namespace MSaaS.Api.Clients;

/// <summary>Who may use the client routes (Api:Clients): anyone, as the legacy contract has it, or holders of a client's key.</summary>
public enum ClientAccess
{
    /// <summary>No keys; every song is everyone's (the legacy contract; the default).</summary>
    Anonymous,

    /// <summary>Every client route needs a client's key; a client sees only the songs it sent.</summary>
    Keys,

    /// <summary>Keys as above; a request without one counts as the client "anonymous", which sees the songs sent without one.</summary>
    Both,
}
