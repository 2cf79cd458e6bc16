namespace MSaaS.ServiceDefaults.Tests;

public sealed class ClientText_Specs
{
    [Fact]
    public void Should_keep_a_short_value_as_it_is() => Assert.Equal("'vocals'", ClientText.Quote("vocals"));

    [Fact]
    public void Should_cut_a_long_value_and_say_its_length() =>
        Assert.Equal("'aaaaa... (20000000 characters)'", ClientText.Quote(new string('a', 20_000_000), max: 5));

    [Fact]
    public void Should_show_control_characters_as_escapes() =>
        Assert.Equal(@"a\u0000b\u000a", ClientText.Cut("a\0b\n", 10));

    [Fact]
    public void Should_never_keep_half_a_character() =>
        Assert.Equal("ab... (4 characters)", ClientText.Cut("ab\U0001F3B5", 3)); // the note's two halves: neither kept

    [Fact]
    public void Should_say_when_there_is_no_value() => Assert.Equal("(none)", ClientText.Quote(null));
}
