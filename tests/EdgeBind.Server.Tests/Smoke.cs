using Microsoft.Playwright;
namespace EdgeBind.Server.Tests;
public class Smoke
{
    [Fact]
    public async Task Launch()
    {
        using var pw = await Playwright.CreateAsync();
        await using var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox", "--disable-gpu"] });
        var page = await browser.NewPageAsync();
        await page.SetContentAsync("<p id=x>hi</p>");
        Assert.Equal("hi", await page.InnerTextAsync("#x"));
    }
}
