using MassTransit;
using Microsoft.Extensions.Options;
using MSaaS.Saga;

namespace MSaaS.Saga.Tests;

public sealed class SongStates_Specs
{
    [Fact]
    public void Should_list_every_state_the_machine_stores_a_song_in()
    {
        var machine = new SongStateMachine(Options.Create(new PipelineOptions()), TimeProvider.System);
        var stored = machine.States.Select(s => s.Name).Where(n => n is not "Initial" and not "Final").Order();
        Assert.Equal(stored, SongStates.All.Order());
    }
}
