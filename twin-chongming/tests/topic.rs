//! MQTT topics of the real towns (`twin_core::topic` over the bundled boundaries).

use twin_core::topic::{Topic, TopicError, topic_of, town_filter};

#[test]
fn topics_of_the_real_towns_check_and_misroutes_are_refused() {
    let twin = twin_chongming::island::load_real().unwrap();
    let h = twin.handle("CM-TOWN-CHENGQIAO").unwrap();
    let topic = topic_of(&twin, h).unwrap();
    assert_eq!(topic, "twin/CM-TOWN-CHENGQIAO/town/CM-TOWN-CHENGQIAO");
    assert_eq!(Topic::parse(&topic).unwrap().check(&twin), Ok(Some(h)));
    let wrong = Topic::parse("twin/CM-TOWN-CHENJIA/town/CM-TOWN-CHENGQIAO").unwrap();
    assert!(matches!(
        wrong.check(&twin),
        Err(TopicError::WrongTown { .. })
    ));
    let wrong = Topic::parse("twin/CM-TOWN-CHENGQIAO/road/CM-TOWN-CHENGQIAO").unwrap();
    assert!(matches!(
        wrong.check(&twin),
        Err(TopicError::WrongKind { .. })
    ));
    let island = twin.handle("CM-ISL-CHONGMING").unwrap();
    assert_eq!(
        topic_of(&twin, island).unwrap(),
        "twin/_/island/CM-ISL-CHONGMING"
    );
    let unknown = Topic::parse("twin/_/road/NOPE").unwrap();
    assert_eq!(unknown.check(&twin), Ok(None));
    assert_eq!(town_filter("CM-TOWN-CHENJIA"), "twin/CM-TOWN-CHENJIA/#");
}
