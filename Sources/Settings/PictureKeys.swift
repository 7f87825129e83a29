// PictureKeys: the values of the keys that turn the picture (`rotate`, `flip`); Service maps them to JPEG's
// Orientation.

/// `flip`: a mirror image, applied before `rotate`.
public enum PictureFlip: String, Sendable, CaseIterable {
    case none, horizontal, vertical
}

extension ConfigCheck where Value == Int {
    /// rotate: a quarter turn, clockwise, in degrees.
    static var rotation: ConfigCheck {
        ConfigCheck(parse: { (value: ConfigValue, reject: Rejection) throws(ConfigError) -> Int in
            guard case .integer(let degrees) = value, [0, 90, 180, 270].contains(degrees) else {
                throw reject("must be 0, 90, 180 or 270 (degrees clockwise)")
            }
            return degrees
        }, show: { String($0) })
    }
}
