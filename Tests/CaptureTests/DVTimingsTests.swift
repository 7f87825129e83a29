// DVTimings: the rate from the pixel clock and the blanked size, and the mode's name as /state and the log show it.
import Capture
import Testing

struct DVTimingsTests {
    @Test func cea861ModesAreNamedWithTheirRates() {
        // CEA-861 1080p60: 148.5 MHz over 2200 x 1125.
        let p60 = DVTimings(width: 1920, height: 1080, interlaced: false, pixelClock: 148_500_000, totalWidth: 2200, totalHeight: 1125)
        #expect(p60.fps == 60)
        #expect(p60.description == "1920x1080p60")
        // 720p59.94: the 74.25 MHz clock divided by 1.001.
        let p5994 = DVTimings(width: 1280, height: 720, interlaced: false, pixelClock: 74_175_824, totalWidth: 1650, totalHeight: 750)
        #expect(p5994.description == "1280x720p59.94")
        // 1080i60: 30 frames of two fields each; named by its field rate, as the mode is.
        let i60 = DVTimings(width: 1920, height: 1080, interlaced: true, pixelClock: 74_250_000, totalWidth: 2200, totalHeight: 1125)
        #expect(i60.fps == 30)
        #expect(i60.description == "1920x1080i60")
    }

    @Test func timingsWithoutClockOrBlankingHaveNoRate() {
        #expect(DVTimings(width: 640, height: 480, interlaced: false, pixelClock: 0, totalWidth: 800, totalHeight: 525).fps == 0)
        #expect(DVTimings(width: 640, height: 480, interlaced: false, pixelClock: 25_175_000, totalWidth: 0, totalHeight: 0).fps == 0)
    }
}
